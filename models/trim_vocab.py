#!/usr/bin/env python3
"""Trim a GGUF model's vocabulary to the scripts the kiosk reads and writes.

    models/trim_vocab.py PUBLISHED.gguf OUT.gguf

The kiosk writes English and Simplified Chinese (`en`, `zh-CN`). The default model's vocabulary has
262,144 tokens, of which a third are of other scripts (Cyrillic, Arabic, Devanagari, Thai, Hangul,
...) or unused placeholders. Its output layer (the token embeddings, tied) is the largest matrix
of the model and is read whole for every token decoded, so those rows cost about a third of each
decoding step and 57 MB of memory while the copy can never use them: the charset guardrails and
the stray-word rule refuse such copy anyway.

What is kept, in the original order (so the special tokens' ids below 5 keep their values):
- the control tokens that mean something (`<pad>`, `<eos>`, `<bos>`, `<unk>`, `<mask>`,
  `<start_of_turn>`, `<end_of_turn>`), not the 6,242 `<unusedN>` placeholders;
- the 256 byte tokens (`<0x00>`...`<0xFF>`): any text still tokenizes, a character of another
  script as its UTF-8 bytes;
- every normal or user-defined token whose characters all belong to KEPT_RANGES: Latin with its
  accents, digits, punctuation, currency and common symbols, whitespace runs, Han, kana, CJK and
  full-width punctuation, emoji.

Invariants:
- Text made only of kept characters tokenizes exactly as before (SentencePiece merges only pieces
  of the text's own characters, and every such piece is kept), so prompts and product facts in
  `en` and `zh-CN` reach the model as they did; the logits of every kept token are bit-for-bit
  the same as before. Sampling sees the same candidates less those of other scripts.
- Deterministic: the same input and `gguf` package version give the same bytes, whose size and
  sha256 `models/manifest.toml` pins (`models/fetch.sh` checks them).
- Every other tensor and metadata value is copied unchanged.
"""

import sys

import gguf
import numpy as np

# Inclusive code point ranges of the characters a kept token may contain.
KEPT_RANGES = [
    (0x09, 0x0D),  # tab, newline, carriage return and the rest of ASCII whitespace
    (0x20, 0x7E),  # ASCII
    (0xA0, 0x24F),  # Latin-1 Supplement, Latin Extended-A and -B (Nestlé, Crème)
    (0x2000, 0x206F),  # General Punctuation (dashes, quotes, ellipsis, bullet)
    (0x20A0, 0x20CF),  # Currency Symbols (₹, €)
    (0x2100, 0x22FF),  # Letterlike, Number Forms, Arrows, Mathematical Operators (™, ℃, ½, ≤)
    (0x2460, 0x24FF),  # Enclosed Alphanumerics (①)
    (0x2500, 0x27BF),  # box drawing, blocks, geometric shapes, symbols, dingbats (★, ✓, ●)
    (0x2B00, 0x2BFF),  # Miscellaneous Symbols and Arrows (⭐)
    (0x3000, 0x30FF),  # CJK Symbols and Punctuation, Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFE00, 0xFE0F),  # variation selectors (emoji presentation)
    (0xFE30, 0xFE4F),  # CJK Compatibility Forms
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms (，！￥)
    (0xFFFD, 0xFFFD),  # the replacement character of text decoded badly upstream (real catalogs have it)
    (0x1F000, 0x1FAFF),  # emoji and pictographs
    (0x20000, 0x3134F),  # CJK Extensions B-G
]
# SentencePiece's visible space.
SPM_SPACE = 0x2581

NORMAL, CONTROL, USER_DEFINED, BYTE = 1, 3, 4, 6


def kept_char(c: str) -> bool:
    o = ord(c)
    return o == SPM_SPACE or any(lo <= o <= hi for lo, hi in KEPT_RANGES)


def keep_token(text: str, kind: int) -> bool:
    if kind == BYTE:
        return True
    if kind == CONTROL:
        return not text.startswith("<unused")
    if kind in (NORMAL, USER_DEFINED):
        return all(kept_char(c) for c in text)
    return False


def field_array(field, cast):
    return [cast(field.parts[i]) for i in field.data]


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    reader = gguf.GGUFReader(src)
    fields = reader.fields
    # SentencePiece vocabularies only: a BPE vocabulary's merges name tokens by their text, and
    # a merge whose result is cut would change how kept text tokenizes.
    model = fields.get("tokenizer.ggml.model")
    if model is None or model.contents() != "llama" or "tokenizer.ggml.merges" in fields:
        print("trim_vocab: only SentencePiece vocabularies (tokenizer.ggml.model = llama)",
              file=sys.stderr)
        return 1
    tokens = field_array(fields["tokenizer.ggml.tokens"], lambda p: bytes(p).decode("utf-8"))
    scores = field_array(fields["tokenizer.ggml.scores"], lambda p: float(p[0]))
    kinds = field_array(fields["tokenizer.ggml.token_type"], lambda p: int(p[0]))
    keep = [i for i, (t, k) in enumerate(zip(tokens, kinds)) if keep_token(t, k)]
    for key in ("bos", "eos", "unknown", "padding"):
        field = fields.get(f"tokenizer.ggml.{key}_token_id")
        if field is not None and keep[int(field.contents())] != int(field.contents()):
            print(f"trim_vocab: the {key} token would change its id", file=sys.stderr)
            return 1

    arch = fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(dst, arch)
    trimmed = {
        "tokenizer.ggml.tokens": ([tokens[i] for i in keep], gguf.GGUFValueType.STRING),
        "tokenizer.ggml.scores": ([scores[i] for i in keep], gguf.GGUFValueType.FLOAT32),
        "tokenizer.ggml.token_type": ([kinds[i] for i in keep], gguf.GGUFValueType.INT32),
    }
    for key, field in fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue  # written by GGUFWriter itself
        if key in trimmed:
            values, sub = trimmed[key]
            writer.add_key_value(key, values, gguf.GGUFValueType.ARRAY, sub)
        elif field.types[0] == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), field.types[0], field.types[-1])
        else:
            writer.add_key_value(key, field.contents(), field.types[0])

    rows = np.array(keep)
    embeddings = 0
    for tensor in reader.tensors:
        data = tensor.data
        if tensor.name == "token_embd.weight":
            data = data[rows]  # one row per token, in the kept order
            embeddings += 1
        # Quantized tensors come as bytes: their byte shape is converted back by the writer.
        writer.add_tensor(tensor.name, np.ascontiguousarray(data), raw_dtype=tensor.tensor_type)
    if embeddings != 1:
        print("trim_vocab: no token_embd.weight tensor", file=sys.stderr)
        return 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"trim_vocab: kept {len(keep)} of {len(tokens)} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
