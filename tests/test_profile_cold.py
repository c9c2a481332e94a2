"""benchmarks/profile_cold.py's bookkeeping: which texts an embedding call was for, and the sums
its report is made of (the instrumented run itself needs the real model: run by hand)."""

from __future__ import annotations

from benchmarks.profile_cold import Calls, caller_of, floor_of, markdown


def test_caller_of_names_the_texts_from_the_stack() -> None:
    assert caller_of(["main", "run", "embed_passages", "embed", "encode"]) == "passages"
    # Theme labelling calls the code-labelling phrase functions: it is asked about first.
    assert caller_of(["run", "group_codes", "keyphrases", "rerank", "encode"]) == (
        "theme candidates"
    )
    assert caller_of(["run", "label", "keyphrases", "_scored", "encode"]) == "keyphrase candidates"
    assert caller_of(["run", "label", "closest_candidate", "central_sentence"]) == (
        "central sentences"
    )
    assert caller_of(["label", "__init__", "gathered._add", "embed"]) == "central sentences"
    assert caller_of(["run", "label", "something_new"]) == "other"


def _record(kind: str, texts: int, session: float, tokens: int, padded: int) -> dict[str, object]:
    return {
        "kind": kind,
        "texts": texts,
        "batches": 1,
        "tokens": tokens,
        "padded_tokens": padded,
        "tokenize_s": 0.1,
        "session_s": session,
        "encode_s": session + 0.3,
    }


def test_summary_and_floor_add_up() -> None:
    calls = Calls()
    calls.records = [
        _record("passages", 30, 2.0, 900, 1000),
        _record("passages", 30, 1.0, 100, 100),
        _record("central sentences", 3, 0.5, 0, 0),
    ]
    calls.threads = 2
    summary = calls.summary()
    passages = summary["by_kind"]["passages"]
    assert passages["calls"] == 2 and passages["texts"] == 60 and passages["session_s"] == 3.0
    assert passages["other_s"] == 0.4  # encode minus tokenizer minus session
    line = {"wall_s": 10.0, "cpu_s": 9.0, "load": [1.0, 1.0], "timings_s": {}, "calls": summary}
    floor = floor_of(line)
    assert floor == {
        "session_s": 3.5,
        "session_passages_s": 3.0,
        "padding_share": 0.0909,
        "rest_s": 6.5,
    }
    text = markdown({"cold": [line], "bare": [{"encode_s": 20.0}]})
    assert "| 1 | 10.0 | 9.0 | 20.0 | 0.50x |" in text
    assert "| passages | 2 | 60 |" in text
