"""Rewrites the `created_by` metadata of safetensors checkpoints so that it names no path of the
machine that made them: every absolute or climbing path in the command line keeps only its file
name, as `advlab` itself now writes it (Sources/advlab/Options.swift, pathFreeCommandLine). Only
the header changes; the tensor bytes are copied unchanged (the script checks that), and the file
is replaced atomically.

    python3 Scripts/scrub-created-by.py checkpoints/*.safetensors checkpoints/*/*.safetensors"""
import hashlib, json, os, struct, sys


def scrubbed(value):
    if value.startswith(("/", "~", "../")) or "/../" in value:
        return os.path.basename(value.rstrip("/"))
    return value


def scrub_command(text):
    words = []
    for word in text.split(" "):
        if word.startswith("--") and "=" in word:
            flag, value = word.split("=", 1)
            words.append(flag + "=" + scrubbed(value))
        else:
            words.append(scrubbed(word))
    return " ".join(words)


for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    metadata = header.get("__metadata__", {})
    before = metadata.get("created_by")
    if before is None or scrub_command(before) == before:
        print(f"{path}: unchanged")
        continue
    metadata["created_by"] = scrub_command(before)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    out = struct.pack("<Q", len(text)) + text + body
    assert hashlib.sha256(out[8 + len(text):]).digest() == hashlib.sha256(body).digest()
    with open(path + ".tmp", "wb") as f:
        f.write(out)
    os.replace(path + ".tmp", path)
    print(f"{path}: created_by {before!r} -> {metadata['created_by']!r}")
