#!/usr/bin/env python3
"""Derive the kiosk's model file from the published GGUF: trim the vocabulary to the scripts the
kiosk reads and writes, store the token embeddings (the tied output layer) in five bits, and
requantise the feed-forward's Q5_0 weights to IQ4_NL, which llama.cpp repacks for its 8x8 (AVX2)
and 4x4 (ARM dot-product) kernels.

    models/derive.py PUBLISHED.gguf OUT.gguf

Vocabulary. The kiosk writes English and Simplified Chinese (`en`, `zh-CN`). The default model's
vocabulary has 262,144 tokens, of which a third are of other scripts (Cyrillic, Arabic,
Devanagari, Thai, Hangul, ...) or unused placeholders. Its output layer (the token embeddings, tied) is the largest matrix
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
  `en` and `zh-CN` reach the model as they did; the trim alone leaves every kept token's logit
  bit-for-bit as it was (the requantisations below change the weights, not the vocabulary).
  Sampling sees the candidates less those of other scripts.
- Deterministic: the same input and `gguf`/`numpy` package versions give the same bytes, whose
  size and sha256 `models/manifest.toml` pins (`models/fetch.sh` checks them).
- Every tensor but the embeddings' rows and the requantised weights, and every metadata value
  but the three vocabulary arrays, is copied unchanged.

Weights. The published file is Q4_K_M, but a K-quant needs rows of 256 weights and this model's
are 640 wide, so its attention (q, k, v) and feed-forward (gate, up) weights, 81 tensors, were
published as Q5_0. llama.cpp multiplies Q5_0 with its generic kernel: no repacked layout exists for
it on x86 or ARM, and those GEMMs were 39 % of a suffix's decode. IQ4_NL (blocks of 32, one f16
scale, sixteen non-uniform levels) is repacked on both. The feed-forward's gate and up weights
(36 tensors, 640 x 2048 each: three quarters of the Q5_0 weights) become IQ4_NL; the attention's
stay Q5_0: all 81 as IQ4_NL decoded a suffix a third faster but cost one to two points of the
guardrails' first-try rate in both locales, the feed-forward alone kept it (README, Measured
figures). The originals are not published, so those weights are dequantised and quantised again
(a second rounding: 7.9 % relative RMS error against the Q5_0 values on average, 8.2 % at most),
by llama.cpp's own method without an importance matrix (`quantize_row_iq4_nl_impl`: the block's
largest weight sets a first scale, fifteen scales around it are tried and the best by weighted
squared error kept, weight of an element = its square; the weights are then mapped to the nearest
level).

The token embeddings become Q5_0. Gemma ties its output layer to them, so that one 8-bit
matrix (the kept vocabulary x 640) was read for every token decoded, and at two to four
sequences decoded together it took more time than all the blocks (a bare decode step of three
sequences 25 ms against 17 ms with the matrix in five bits, one sequence's step unchanged: one
row is read at memory speed either way). Five bits, not four: the matrix as IQ4_NL was as fast
and cost the guardrails' first try 1 to 1.5 points in both locales on 200 pairs; Q5_0 kept it
(README, Measured figures). The input side reads single rows of the same matrix, so a prompt's
tokens are embedded from the five-bit values too. Quantised by gguf's own Q5_0 (llama.cpp's
reference method: the block's largest weight maps to -16), from the dequantised 8-bit values.

Invariants of the weights:
- Only the Q5_0 tensors named in REQUANTISED change, and only to IQ4_NL of the same shape; a
  tensor whose IQ4_NL differs from its Q5_0 values by more than 15 % relative RMS stops the
  script.
- The token embeddings change only from Q8_0 to Q5_0, row for kept row; a result further than
  MAX_EMBEDDINGS_ERROR (relative RMS) from the 8-bit values stops the script.
- Deterministic: numpy float32 arithmetic in a fixed order; the scale is rounded to f16 as
  llama.cpp rounds it (nearest even).
"""

import sys

import gguf
import numpy as np

# IQ4_NL's sixteen levels (llama.cpp `kvalues_iq4nl`) and the midpoints between neighbours.
IQ4_NL_LEVELS = np.array(
    [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], dtype=np.float32
)
IQ4_NL_MIDPOINTS = (IQ4_NL_LEVELS[1:] + IQ4_NL_LEVELS[:-1]) / 2
# Scales tried on either side of the first (llama.cpp's `ntry` for IQ4_NL).
IQ4_NL_TRIES = 7
# The tensors requantised, by the end of their names (every block's).
REQUANTISED = ("ffn_gate.weight", "ffn_up.weight")
# A requantised tensor further than this from its Q5_0 values (relative RMS) is a bug, not noise.
MAX_REQUANT_ERROR = 0.15
# The token embeddings' 5-bit values further than this from their 8-bit ones: a bug, not noise.
MAX_EMBEDDINGS_ERROR = 0.08

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


def iq4_nl(weights: np.ndarray) -> np.ndarray:
    """IQ4_NL blocks (2-byte f16 scale, 16 bytes of level indices: element j in the low nibble of
    byte j, element j + 16 in its high nibble) of `weights`, rows of a multiple of 32 floats."""
    x = weights.reshape(-1, 32).astype(np.float32)
    w = x * x
    rows = np.arange(len(x))
    largest = x[rows, np.argmax(np.abs(x), axis=1)]
    empty = np.abs(largest) < 1e-15
    largest = np.where(empty, 1.0, largest)

    def fit(inverse_scale):
        levels = IQ4_NL_LEVELS[np.searchsorted(IQ4_NL_MIDPOINTS, inverse_scale[:, None] * x)]
        return (w * levels * x).sum(axis=1), (w * levels * levels).sum(axis=1)

    def best_scale(sum_qx, sum_q2):
        return np.where(sum_q2 > 0, sum_qx / np.where(sum_q2 > 0, sum_q2, 1), 0)

    # First the positive scale that maps the largest weight to 127, then negative ones around
    # the one that maps it to the lowest level, -127 (the levels are not symmetric).
    sum_qx, sum_q2 = fit(-IQ4_NL_LEVELS[0] / largest)
    scale = best_scale(sum_qx, sum_q2)
    best = scale * sum_qx
    for step in range(-IQ4_NL_TRIES, IQ4_NL_TRIES + 1):
        sum_qx, sum_q2 = fit((step + IQ4_NL_LEVELS[0]) / largest)
        better = (sum_q2 > 0) & (sum_qx * sum_qx > best * sum_q2)
        candidate = best_scale(sum_qx, sum_q2)
        scale = np.where(better, candidate, scale)
        best = np.where(better, candidate * sum_qx, best)
    scale = np.where(empty, 0, scale).astype(np.float16)
    s32 = scale.astype(np.float32)
    inverse = np.where(s32 != 0, 1 / np.where(s32 != 0, s32, 1), 0)
    index = np.searchsorted(IQ4_NL_MIDPOINTS, inverse[:, None] * x).astype(np.uint8)
    packed = index[:, :16] | (index[:, 16:] << 4)
    return np.concatenate([scale.view(np.uint8).reshape(-1, 2), packed], axis=1)


def relative_rms(back: np.ndarray, values: np.ndarray) -> float:
    """The RMS of `back - values` relative to the RMS of `values` (shapes assumed equal)."""
    if back.shape != values.shape:
        return float("inf")
    return float(np.sqrt(np.mean((back - values) ** 2)) / max(np.sqrt(np.mean(values**2)), 1e-30))


def requantised(name: str, data: np.ndarray) -> np.ndarray:
    """A Q5_0 tensor's bytes as IQ4_NL bytes of the same shape; stops on a result too far off."""
    q5, iq4 = gguf.GGMLQuantizationType.Q5_0, gguf.GGMLQuantizationType.IQ4_NL
    values = gguf.quants.dequantize(data, q5)
    out = iq4_nl(values).reshape(values.shape[0], -1)
    back = gguf.quants.dequantize(out, iq4)
    error = relative_rms(back, values)
    if back.shape != values.shape or not error <= MAX_REQUANT_ERROR:
        raise SystemExit(f"derive: {name} requantised {error:.1%} off its Q5_0 values")
    return out


def five_bit_embeddings(data: np.ndarray) -> np.ndarray:
    """The Q8_0 token embeddings' bytes as Q5_0 bytes of the same shape; stops on a result too far
    off."""
    q8, q5 = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q5_0
    values = gguf.quants.dequantize(data, q8)
    out = gguf.quants.quantize(values, q5)
    back = gguf.quants.dequantize(out, q5)
    error = relative_rms(back, values)
    if back.shape != values.shape or not error <= MAX_EMBEDDINGS_ERROR:
        raise SystemExit(f"derive: token_embd.weight as Q5_0 is {error:.1%} off its Q8_0 values")
    print(f"derive: token_embd.weight as Q5_0, {error:.1%} relative RMS off its Q8_0 values")
    return out


def field_array(field, cast):
    return [cast(field.parts[i]) for i in field.data]


def main() -> int:
    if len(sys.argv) != 3:
        usage = next(line for line in __doc__.splitlines() if "PUBLISHED.gguf" in line)
        print(f"usage: {usage.strip()}", file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    reader = gguf.GGUFReader(src)
    fields = reader.fields
    # SentencePiece vocabularies only: a BPE vocabulary's merges name tokens by their text, and
    # a merge whose result is cut would change how kept text tokenizes.
    model = fields.get("tokenizer.ggml.model")
    if model is None or model.contents() != "llama" or "tokenizer.ggml.merges" in fields:
        print("derive: only SentencePiece vocabularies (tokenizer.ggml.model = llama)",
              file=sys.stderr)
        return 1
    tokens = field_array(fields["tokenizer.ggml.tokens"], lambda p: bytes(p).decode("utf-8"))
    scores = field_array(fields["tokenizer.ggml.scores"], lambda p: float(p[0]))
    kinds = field_array(fields["tokenizer.ggml.token_type"], lambda p: int(p[0]))
    keep = [i for i, (t, k) in enumerate(zip(tokens, kinds)) if keep_token(t, k)]
    for key in ("bos", "eos", "unknown", "padding"):
        field = fields.get(f"tokenizer.ggml.{key}_token_id")
        if field is not None and keep[int(field.contents())] != int(field.contents()):
            print(f"derive: the {key} token would change its id", file=sys.stderr)
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
    embeddings = requants = 0
    for tensor in reader.tensors:
        data, kind = tensor.data, tensor.tensor_type
        if tensor.name == "token_embd.weight":
            if kind != gguf.GGMLQuantizationType.Q8_0:
                print(f"derive: token_embd.weight is {kind.name}, not Q8_0", file=sys.stderr)
                return 1
            data = data[rows]  # one row per token, in the kept order
            data, kind = five_bit_embeddings(data), gguf.GGMLQuantizationType.Q5_0
            embeddings += 1
        if kind == gguf.GGMLQuantizationType.Q5_0 and tensor.name.endswith(REQUANTISED):
            data, kind = requantised(tensor.name, data), gguf.GGMLQuantizationType.IQ4_NL
            requants += 1
        # Quantized tensors come as bytes: their byte shape is converted back by the writer.
        writer.add_tensor(tensor.name, np.ascontiguousarray(data), raw_dtype=kind)
    if embeddings != 1:
        print("derive: no token_embd.weight tensor", file=sys.stderr)
        return 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"derive: kept {len(keep)} of {len(tokens)} tokens, their embeddings as Q5_0;"
          f" {requants} Q5_0 tensors as IQ4_NL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
