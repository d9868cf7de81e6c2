"""Deduplication: exact duplicates of the normalized prompt, then near-duplicates by MinHash
with locality-sensitive hashing (datasketch), across every input file and domain.

A prompt's MinHash is taken over its word shingles (`shingle` consecutive words). Two prompts
are near-duplicates when their estimated Jaccard similarity reaches `threshold`. The first
occurrence is kept; each dropped row records what it duplicated. Defaults (why):
- `shingle` 5 words: the n of Lee et al. (2022), "Deduplicating Training Data Makes Language
  Models Better"; shorter shingles make problems that share a template but differ in their
  numbers look alike (`Compute 3 + 4.` vs `Compute 3 + 5.` share most 2-grams: they are
  different problems).
- `threshold` 0.8 Jaccard: Lee et al.'s near-duplicate threshold.
- `permutations` 128: a Jaccard estimate within about 0.09 (1/sqrt(128)), LSH bands tuned by
  datasketch for the threshold.
A prompt shorter than `shingle` words is one shingle (its whole text).

Guru deduplicated by substring containment, which compares every pair (quadratic) and misses
edits that are not substrings; benchmarks/dedup_vs_substring.py measures both on planted
duplicates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from datasketch import MinHash, MinHashLSH

from rlvr.data.records import Row, normalized, words


@dataclass(frozen=True)
class DedupSettings:
    shingle: int = 5  # words per shingle
    threshold: float = 0.8  # Jaccard similarity from which two prompts are near-duplicates
    permutations: int = 128  # MinHash permutations

    def __post_init__(self) -> None:
        if self.shingle < 1 or not 0 < self.threshold <= 1 or self.permutations < 16:
            raise ValueError("dedup: shingle >= 1, 0 < threshold <= 1 and permutations >= 16")


@dataclass
class DedupResult:
    kept: list[Row] = field(default_factory=list)
    dropped: list[tuple[Row, Row, str, float]] = field(default_factory=list)  # row, kept original, kind, Jaccard

    def counts(self) -> dict[tuple[str, str], Counter]:
        """(domain, source) -> {"kept", "exact", "near"}."""
        out: dict[tuple[str, str], Counter] = {}
        for row in self.kept:
            out.setdefault((row.problem.domain, row.source), Counter())["kept"] += 1
        for row, _, kind, _ in self.dropped:
            out.setdefault((row.problem.domain, row.source), Counter())[kind] += 1
        return out


def shingles(text: str, size: int) -> set[str]:
    tokens = words(text)
    if len(tokens) <= size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def minhash(text: str, settings: DedupSettings) -> MinHash:
    signature = MinHash(num_perm=settings.permutations, seed=1)
    for piece in shingles(text, settings.shingle):
        signature.update(piece.encode())
    return signature


def _minhash_job(job: tuple[str, DedupSettings]) -> MinHash:
    return minhash(*job)


def signatures_of(texts: list[str], settings: DedupSettings, workers: int = 1) -> list[MinHash]:
    """MinHash signatures, computed by `workers` processes (the costly part; LSH is not)."""
    if workers <= 1:
        return [minhash(t, settings) for t in texts]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_minhash_job, [(t, settings) for t in texts], chunksize=512))


def deduplicate(rows: list[Row], settings: DedupSettings = DedupSettings(), workers: int = 1) -> DedupResult:
    """Keep the first of each group of duplicates, in input order; signatures on `workers` processes."""
    result = DedupResult()
    exact: dict[str, Row] = {}
    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.permutations)
    signatures: dict[str, tuple[MinHash, Row]] = {}
    texts = [row.problem.prompt_text() for row in rows]
    keys = [normalized(text) for text in texts]
    unique = {key: i for i, key in reversed(list(enumerate(keys)))}  # the first row of each exact key
    firsts = sorted(unique.values())
    computed = dict(zip(firsts, signatures_of([texts[i] for i in firsts], settings, workers)))
    for position, row in enumerate(rows):
        key = keys[position]
        if key in exact:
            result.dropped.append((row, exact[key], "exact", 1.0))
            continue
        signature = computed[position]
        near = [signatures[k] for k in lsh.query(signature)]
        near = [(signature.jaccard(s), kept) for s, kept in near]
        near = [(j, kept) for j, kept in near if j >= settings.threshold]
        if near:
            similarity, original = max(near, key=lambda pair: pair[0])
            result.dropped.append((row, original, "near", similarity))
            exact[key] = original  # a later exact copy of this row duplicates the same original
            continue
        name = str(len(signatures))
        lsh.insert(name, signature)
        signatures[name] = (signature, row)
        exact[key] = row
        result.kept.append(row)
    return result


def substring_duplicates(rows: list[Row]) -> list[tuple[Row, Row]]:
    """Guru's rule, for comparison: a row whose normalized prompt contains, or is contained in, an
    earlier kept one is a duplicate. Every pair is compared."""
    kept: list[tuple[str, Row]] = []
    dropped = []
    for row in rows:
        text = normalized(row.problem.prompt_text())
        hit = next((original for seen, original in kept if text in seen or seen in text), None)
        if hit is None:
            kept.append((text, row))
        else:
            dropped.append((row, hit))
    return dropped
