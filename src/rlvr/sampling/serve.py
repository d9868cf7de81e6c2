"""A minimal OpenAI-compatible server over TorchSampler (`rlvr serve`).

Implements GET /v1/models, POST /v1/completions and POST /v1/chat/completions with `n`,
`temperature`, `top_p`, `top_k`, `max_tokens`, `stop`, `seed`, `logprobs` and vLLM's
`continue_final_message`; special tokens are always kept in the text. One request is
generated at a time. Meant for tests and small local models; use vLLM or SGLang at scale.

    python -m rlvr.sampling.serve --model DIR [--port 0]   # prints "listening on PORT"
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rlvr.sampling.base import SamplingParams
from rlvr.sampling.torch_backend import TorchSampler


def params_from(body: dict) -> SamplingParams:
    stop = body.get("stop") or ()
    return SamplingParams(n=int(body.get("n", 1)), temperature=float(body.get("temperature", 1.0)),
                          top_p=float(body.get("top_p", 1.0)), top_k=int(body.get("top_k", 0) or 0),
                          max_new_tokens=int(body.get("max_tokens", 256)),
                          stop=(stop,) if isinstance(stop, str) else tuple(stop), seed=int(body.get("seed", 0) or 0))


def make_handler(sampler: TorchSampler, name: str):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/v1/models":
                return self._send(200, {"object": "list", "data": [{"id": name, "object": "model"}]})
            self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self):
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                params = params_from(body)
            except (ValueError, TypeError) as e:
                return self._send(400, {"error": {"message": f"bad request: {e}"}})
            chat = self.path == "/v1/chat/completions"
            if not chat and self.path != "/v1/completions":
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            prompt = body.get("messages") if chat else body.get("prompt")
            if prompt is None:
                return self._send(400, {"error": {"message": "missing 'messages'" if chat else "missing 'prompt'"}})
            if not chat and isinstance(prompt, str):
                prompt = sampler.tokenizer(prompt, add_special_tokens=False)["input_ids"]  # raw text, no template
            if chat and body.get("continue_final_message") and prompt and prompt[-1].get("role") == "assistant":
                # vLLM's extension: the last assistant message is continued, not answered
                opened = sampler.tokenizer.apply_chat_template(prompt[:-1], tokenize=False, add_generation_prompt=True)
                prompt = sampler.tokenizer(opened + prompt[-1]["content"], add_special_tokens=False)["input_ids"]
            with lock:
                samples = sampler.sample([prompt], params)[0]
            choices = []
            for i, s in enumerate(samples):
                tokens = [sampler.tokenizer.decode([t]) for t in s.token_ids]
                if chat:
                    lp = {"content": [{"token": t, "logprob": x} for t, x in zip(tokens, s.logprobs)]}
                    choices.append({"index": i, "message": {"role": "assistant", "content": s.text},
                                    "logprobs": lp if body.get("logprobs") else None, "finish_reason": s.finish_reason})
                else:
                    lp = {"tokens": tokens, "token_logprobs": s.logprobs}
                    choices.append({"index": i, "text": s.text, "logprobs": lp if body.get("logprobs") else None,
                                    "finish_reason": s.finish_reason})
            kind = "chat.completion" if chat else "text_completion"
            self._send(200, {"id": f"rlvr-{time.time_ns()}", "object": kind, "model": name, "choices": choices})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    sampler = TorchSampler.from_pretrained(args.model)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(sampler, args.model))
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
