"""A fake Hugging Face Hub on loopback for run.sh: every repository id exists.

`python3 fake_hub.py PORT` serves what the manager's Hub client calls
(src/models/hub.rs), the same routes as the Rust tests' fake Hub
(tests/api/fake_hub.rs), without its fault injection:

  GET /api/models?search=...                  three hits whatever the query
  GET /api/models/{org}/{name}                {id, usedStorage}
  GET /api/models/{org}/{name}/revision/{rev} {id, sha, siblings}
  GET /api/models/{org}/{name}/tree/{commit}  config.json (git blob) and
                                              model.safetensors (LFS)
  GET /{org}/{name}/resolve/{commit}/{file}   the bytes, with ETag,
                                              X-Repo-Commit and Range

so that schemathesis's searches and downloads reach their success paths
instead of the offline 503. Nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CONFIG = json.dumps(
    {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "max_position_embeddings": 4096,
    }
).encode()
WEIGHTS = bytes(range(256)) * 8  # 2 KiB


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


FILES = {
    "config.json": (CONFIG, False),
    "model.safetensors": (WEIGHTS, True),
}


class Hub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def send_json(self, value, status: int = 200) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        if parts == ["api", "models"]:
            hits = [
                {
                    "id": f"mlx-community/fake-model-{i}-4bit",
                    "modelId": f"mlx-community/fake-model-{i}-4bit",
                    "author": "mlx-community",
                    "downloads": 100 * i,
                    "likes": i,
                    "tags": ["mlx", "text-generation"],
                    "lastModified": "2026-11-01T00:00:00.000Z",
                    "usedStorage": len(CONFIG) + len(WEIGHTS),
                }
                for i in range(1, 4)
            ]
            return self.send_json(hits)
        if len(parts) == 4 and parts[:2] == ["api", "models"]:
            repo = f"{parts[2]}/{parts[3]}"
            return self.send_json({"id": repo, "usedStorage": len(CONFIG) + len(WEIGHTS)})
        if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            repo = f"{parts[2]}/{parts[3]}"
            siblings = [{"rfilename": name} for name in FILES]
            return self.send_json({"id": repo, "sha": COMMIT, "siblings": siblings})
        if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "tree":
            entries = []
            for name, (data, lfs) in FILES.items():
                entry = {"type": "file", "path": name, "oid": git_oid(data), "size": len(data)}
                if lfs:
                    entry["size"] = 134
                    entry["lfs"] = {
                        "oid": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "pointerSize": 134,
                    }
                entries.append(entry)
            return self.send_json(entries)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[4:]))
        return self.send_json({"error": "Repository not found"}, 404)

    def resolve(self, name: str) -> None:
        if name not in FILES:
            return self.send_json({"error": "Entry not found"}, 404)
        data, lfs = FILES[name]
        etag = hashlib.sha256(data).hexdigest() if lfs else git_oid(data)
        start = 0
        asked = self.headers.get("Range", "")
        if asked.startswith("bytes="):
            try:
                start = int(asked[len("bytes=") :].split("-")[0])
            except ValueError:
                start = 0
        if start >= len(data) and asked:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("ETag", f'"{etag}"')
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hub).serve_forever()
