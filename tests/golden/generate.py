#!/usr/bin/env python3
"""Builds the golden conformance fixtures for the inference engine.

For each family (Llama 3.1, Gemma 2, Phi-3) this trains a small tokenizer in the
family's tokenizer.json layout, builds a tiny random-weight model that exercises
the family's architectural quirks, saves both as a Hugging Face directory under
models/<name>/, and records reference logits and greedy continuations
(golden.json). It also writes tokenizer_cases.json and chat_cases.json.

Everything is deterministic: fixed seeds, single-threaded torch, no network.
Run it with the venv described in README.md:  python tests/golden/generate.py
"""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import tokenizers
import torch
import transformers
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from transformers import AutoTokenizer, GenerationConfig

from byte_level import bytes_to_unicode  # tests/golden, beside this script

HERE = Path(__file__).resolve().parent
MODELS_DIR = HERE / "models"
TEMPLATES_DIR = HERE / "templates"

VOCAB_SIZE = 768            # every tiny model has this many embedding rows
PROMPT_USER_MESSAGE = (
    "Write two short lines about the lighthouse keeper, the quiet river "
    "and the numbers 2024 and 417.")
NEW_TOKENS = 32
MIN_TOP2_MARGIN = 0.02      # greedy steps win by 20x the logit tolerance
MAX_SEED_TRIES = 64

# Llama 3 pre-tokenizer regex, exactly as in the Llama 3 tokenizer.json.
LLAMA3_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Only used while training the SentencePiece-style vocabularies: digits stay
# single (SentencePiece split_digits) and a piece is a run of "▁" plus a word,
# or a bare run of "▁" (allow_whitespace_only_pieces). The saved tokenizers
# have no pre-tokenizer, like the real Gemma / Llama-2 files.
SP_TRAIN_PRETOKENIZER = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),
    pre_tokenizers.Split(Regex(r"▁*[^▁]+|▁+"), behavior="isolated"),
])


# --------------------------------------------------------------------------
# Tokenizer texts
# --------------------------------------------------------------------------

def training_lines():
    text = (HERE / "corpus.txt").read_text(encoding="utf-8")
    return text.splitlines(keepends=True)


def tokenizer_case_texts(special_texts):
    """Texts for tokenizer conformance, shared by every layout."""
    texts = [
        "",
        " ",
        "Hello world",
        " Hello world",
        "Hello  world",
        "The lighthouse keeper counted the ships every evening.",
        "It's what they'll say: we're sure I'd've known, DON'T YOU?",
        "Unseen words: quixotic zephyrs jab vexing wombats.",
        "Фонарщик зажигал огни на старой улице.",
        "Ο ψαράς γύρισε στο λιμάνι.",
        "灯塔守护者每天晚上数着经过的船只。",
        "東京の古い本屋で詩集を見つけました。",
        "오늘 아침에 시장에서 사과를 샀습니다.",
        "حارس المنارة يعد السفن كل مساء.",
        "नदी के किनारे एक छोटा सा गाँव है।",
        "Ở quê tôi, người Việt thường uống trà.",
        "Rare characters: 龘 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∮ E⋅da = Q, ﬁ ligature, Ω≈ç√",
        "Emoji 😀🎉🧺🐕⚽ and 🦀🦕 and 👍🏽 👨‍👩‍👧‍👦 🇯🇵🇫🇷 ❤️",
        "Digits 0123456789 1234567 3.14159 -12.5 1,000,000 2024-11-07",
        "123456789012345678901234567890",
        "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        "int main() {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
        "if (x != nullptr && x->size() >= 16) { return a << 2; }",
        '{"id": 42, "tags": ["a", "b"], "ok": true}',
        "a" + " " * 17 + "b",
        "tabs\t\t\tand\t newlines\n\n\n\nend",
        "   leading spaces",
        "trailing spaces   ",
        "\n\nleading newlines",
        "crlf line\r\nnext line\r\n",
        "                                        ",
        "\t",
        "\n",
        "mixed ▁ underscore-like ▁▁ marks",
        "<html><body><p class=\"note\">Hi &amp; bye</p></body></html>",
    ]
    for special in special_texts:
        texts.append(f"{special}Hello{special}")
        texts.append(f"text before {special} text after")
        texts.append(f"{special}\n\nnewlines after")
    return texts


# --------------------------------------------------------------------------
# Tokenizer construction
# --------------------------------------------------------------------------

def pre_tokenize(lines, pre_tokenizer, normalizer=None):
    counts = {}
    for line in lines:
        text = normalizer.normalize_str(line) if normalizer is not None else line
        for piece, _ in pre_tokenizer.pre_tokenize_str(text):
            counts[piece] = counts.get(piece, 0) + 1
    return counts


def train_bpe(piece_counts, alphabet, size):
    """A plain BPE trainer. The tokenizers library's trainer breaks count ties
    in hash order, so its output changes from run to run; this one breaks them
    by the pair's text. Returns (vocab token->id, merges)."""
    vocab = {c: i for i, c in enumerate(alphabet)}
    words = [[list(piece), count] for piece, count in sorted(piece_counts.items())]
    merges = []
    while len(vocab) < size:
        pairs = {}
        for symbols, count in words:
            for a, b in zip(symbols, symbols[1:]):
                if a in vocab and b in vocab:
                    pairs[(a, b)] = pairs.get((a, b), 0) + count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merged = best[0] + best[1]
        merges.append(best)
        if merged not in vocab:
            vocab[merged] = len(vocab)
        for word in words:
            symbols, out, i = word[0], [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            word[0] = out
    return vocab, merges


def frequent_chars(piece_counts, limit):
    """The most frequent characters (ties by code point); the rest of the text
    is left to byte fallback, as SentencePiece does with character_coverage."""
    counts = {}
    for piece, count in piece_counts.items():
        for c in piece:
            counts[c] = counts.get(c, 0) + count
    return sorted(sorted(counts, key=lambda c: (-counts[c], c))[:limit])


def added_token(token_id, content, special=True, rstrip=False):
    return {"id": token_id, "content": content, "single_word": False,
            "lstrip": False, "rstrip": rstrip, "normalized": False,
            "special": special}


LLAMA3_NAMED_SPECIALS = {
    0: "<|begin_of_text|>", 1: "<|end_of_text|>",
    2: "<|reserved_special_token_0|>", 3: "<|reserved_special_token_1|>",
    4: "<|finetune_right_pad_id|>", 5: "<|reserved_special_token_2|>",
    6: "<|start_header_id|>", 7: "<|end_header_id|>", 8: "<|eom_id|>",
    9: "<|eot_id|>", 10: "<|python_tag|>",
}
LLAMA3_NUM_SPECIALS = 32     # the real model has 256; ids keep the same offsets
# Whole words placed in the vocabulary without a merge path to them: only a
# BPE with ignore_merges (tiktoken behaviour) emits them as one token.
LLAMA3_UNREACHABLE_CANDIDATES = [" Việt", " quixotic", " zephyrs", " wombats",
                                 " vexing", "Unseen"]
LLAMA3_NUM_UNREACHABLE = 4


def llama3_special_tokens(base):
    tokens = {}
    reserved = 3
    for index in range(LLAMA3_NUM_SPECIALS):
        name = LLAMA3_NAMED_SPECIALS.get(index)
        if name is None:
            name = f"<|reserved_special_token_{reserved}|>"
            reserved += 1
        tokens[base + index] = name
    return tokens


def byte_level_encode(text):
    return byte_level_encode_bytes(text.encode("utf-8"))


def byte_level_encode_bytes(data):
    """Bytes spelled in a byte-level BPE vocabulary's characters."""
    mapping = bytes_to_unicode()
    return "".join(mapping[b] for b in data)


def build_llama3_tokenizer():
    base = VOCAB_SIZE - LLAMA3_NUM_SPECIALS
    split = pre_tokenizers.Split(Regex(LLAMA3_SPLIT_REGEX), behavior="isolated",
                                 invert=False)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True,
                                          use_regex=False)
    byte_chars = [byte_level_encode_bytes(bytes([b])) for b in range(256)]
    vocab, merges = train_bpe(
        pre_tokenize(training_lines(), pre_tokenizers.Sequence([split, byte_level])),
        byte_chars, base - LLAMA3_NUM_UNREACHABLE)
    added = 0
    for word in LLAMA3_UNREACHABLE_CANDIDATES:
        encoded = byte_level_encode(word)
        if encoded not in vocab and added < LLAMA3_NUM_UNREACHABLE:
            vocab[encoded] = len(vocab)
            added += 1
    assert len(vocab) == base, len(vocab)
    specials = llama3_special_tokens(base)
    bos = specials[base]
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(i, s) for i, s in specials.items()],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT_REGEX},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False},
        ]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
             "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": bos, "type_id": 1}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bos: {"id": bos, "ids": [base], "tokens": [bos]}}},
        ]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": [list(m) for m in merges]},
    }
    config = {
        "added_tokens_decoder": {str(i): {k: v for k, v in added_token(i, s).items()
                                          if k != "id"}
                                 for i, s in specials.items()},
        "bos_token": "<|begin_of_text|>",
        "chat_template": (TEMPLATES_DIR / "llama3.1.jinja").read_text(encoding="utf-8"),
        "clean_up_tokenization_spaces": True,
        "eos_token": "<|eot_id|>",
        "extra_special_tokens": {},
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 131072,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    ids = {name: i for i, name in specials.items()}
    return spec, config, ids


def sentencepiece_bpe_vocab(leading_specials, normalizer, lines, size,
                            limit_alphabet):
    """Vocabulary laid out like a converted SentencePiece BPE model: special
    pieces, then <0x00>..<0xFF>, then the trained pieces."""
    vocab = {}
    for token in leading_specials:
        vocab[token] = len(vocab)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    counts = pre_tokenize(lines, SP_TRAIN_PRETOKENIZER, normalizer)
    trained, merges = train_bpe(counts, frequent_chars(counts, limit_alphabet),
                                size - len(vocab))
    for token, _ in sorted(trained.items(), key=lambda kv: kv[1]):
        vocab.setdefault(token, len(vocab))
    return vocab, merges


def sp_model(vocab, merges, unk):
    return {"type": "BPE", "dropout": None, "unk_token": unk,
            "continuing_subword_prefix": None, "end_of_word_suffix": None,
            "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
            "vocab": vocab, "merges": [list(m) for m in merges]}


SP_DECODER_STEPS = [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "ByteFallback"},
    {"type": "Fuse"},
]

GEMMA2_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "[@BOS@]",
                   "<unused0>", "<unused1>", "<unused2>", "<unused3>",
                   "<start_of_turn>", "<end_of_turn>"]


def build_gemma2_tokenizer():
    normalizer = {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
    vocab, merges = sentencepiece_bpe_vocab(
        GEMMA2_SPECIALS, normalizers.Replace(" ", "▁"), training_lines(),
        VOCAB_SIZE, limit_alphabet=120)
    assert len(vocab) == VOCAB_SIZE
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(i, s) for i, s in enumerate(GEMMA2_SPECIALS)],
        "normalizer": normalizer,
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<bos>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
        "decoder": {"type": "Sequence", "decoders": SP_DECODER_STEPS},
        "model": sp_model(vocab, merges, "<unk>"),
    }
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {str(i): {k: v for k, v in added_token(i, s).items()
                                          if k != "id"}
                                 for i, s in enumerate(GEMMA2_SPECIALS)},
        "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"],
        "bos_token": "<bos>",
        "chat_template": (TEMPLATES_DIR / "gemma2.jinja").read_text(encoding="utf-8"),
        "clean_up_tokenization_spaces": False,
        "eos_token": "<eos>",
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<pad>",
        "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    ids = {name: i for i, name in enumerate(GEMMA2_SPECIALS)}
    return spec, config, ids


PHI3_BASE_SPECIALS = ["<unk>", "<s>", "</s>"]
PHI3_ADDED = ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
              "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>",
              "<|placeholder5|>", "<|placeholder6|>", "<|user|>"]
PHI3_ADDED_BASE = 740        # like 32000 in the real model: added tokens follow the pieces


def phi3_added_tokens():
    out = [added_token(0, "<unk>"), added_token(1, "<s>"),
           added_token(2, "</s>", special=False, rstrip=True)]
    for i, content in enumerate(PHI3_ADDED):
        # Matches the real file: every added token strips whitespace on its
        # right except <|endoftext|>.
        out.append(added_token(PHI3_ADDED_BASE + i, content,
                               rstrip=content != "<|endoftext|>"))
    return out


def build_phi3_tokenizer():
    normalizer = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
    ]}
    train_normalizer = normalizers.Sequence([normalizers.Prepend("▁"),
                                             normalizers.Replace(" ", "▁")])
    vocab, merges = sentencepiece_bpe_vocab(
        PHI3_BASE_SPECIALS, train_normalizer, training_lines(), PHI3_ADDED_BASE,
        limit_alphabet=120)
    assert len(vocab) == PHI3_ADDED_BASE
    added = phi3_added_tokens()
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": None,
        # add_bos_token is false for Phi-3: the post-processor adds nothing.
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {}},
        "decoder": {"type": "Sequence", "decoders": SP_DECODER_STEPS + [
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": sp_model(vocab, merges, "<unk>"),
    }
    config = {
        "add_bos_token": False,
        "add_eos_token": False,
        "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"}
                                 for t in added},
        "bos_token": "<s>",
        "chat_template": (TEMPLATES_DIR / "phi3.jinja").read_text(encoding="utf-8"),
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|endoftext|>",
        "legacy": False,
        "model_max_length": 4096,
        "pad_token": "<|endoftext|>",
        "padding_side": "left",
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    ids = {t["content"]: t["id"] for t in added}
    return spec, config, ids


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def llama3_config(ids):
    return transformers.LlamaConfig(
        vocab_size=VOCAB_SIZE, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, hidden_act="silu", max_position_embeddings=256,
        rms_norm_eps=1e-5, rope_theta=500000.0,
        # With head_dim 16 and theta 5e5 the wavelengths are 6.3, 32.6, 167, ...:
        # one frequency kept, one blended, six divided by the factor.
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        attention_bias=False, mlp_bias=False, tie_word_embeddings=False,
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=[ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]],
        initializer_range=0.02)


def llama3_generation_config(ids):
    return GenerationConfig(
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=[ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]],
        do_sample=True, temperature=0.6, top_p=0.9)


def gemma2_config(ids):
    return transformers.Gemma2Config(
        vocab_size=VOCAB_SIZE, hidden_size=64, intermediate_size=128,
        num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        head_dim=32,                        # q width 128 != hidden 64
        hidden_activation="gelu_pytorch_tanh", max_position_embeddings=256,
        rms_norm_eps=1e-6, rope_theta=10000.0,
        query_pre_attn_scalar=24,           # scale 24^-0.5, not head_dim^-0.5
        sliding_window=16,                  # layers 0 and 2 local, 1 and 3 global
        attn_logit_softcapping=10.0, final_logit_softcapping=30.0,
        tie_word_embeddings=True, attention_bias=False,
        pad_token_id=ids["<pad>"], eos_token_id=ids["<eos>"], bos_token_id=ids["<bos>"],
        attn_implementation="eager")


def gemma2_generation_config(ids):
    return GenerationConfig(bos_token_id=ids["<bos>"],
                            eos_token_id=[ids["<eos>"], ids["<end_of_turn>"]],
                            pad_token_id=ids["<pad>"])


def phi3_config(ids):
    return transformers.Phi3Config(
        vocab_size=VOCAB_SIZE, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        hidden_act="silu", max_position_embeddings=256,
        original_max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=10000.0,
        rope_scaling=None, sliding_window=16, tie_word_embeddings=False,
        resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0,
        bos_token_id=ids["<s>"], eos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"])


def phi3_generation_config(ids):
    return GenerationConfig(bos_token_id=ids["<s>"],
                            eos_token_id=[ids["<|endoftext|>"], ids["<|assistant|>"],
                                          ids["<|end|>"]],
                            pad_token_id=ids["<|endoftext|>"])


def randomize(model, embed_std, qk_gain, norm_offset):
    """Weights large enough that attention is far from uniform and greedy
    choices are clear. Norm weights are norm_offset + 0.1 N(0,1) (Gemma
    multiplies by 1 + w)."""
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() == 1:
                p.copy_(norm_offset + 0.1 * torch.randn(p.shape))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(embed_std * torch.randn(p.shape))
            else:
                gain = qk_gain if any(k in name for k in ("q_proj", "k_proj", "qkv_proj")) else 1.0
                p.copy_(gain / np.sqrt(p.shape[1]) * torch.randn(p.shape))


FAMILIES = {
    "llama3": dict(arch=transformers.LlamaForCausalLM, tokenizer=build_llama3_tokenizer,
                   config=llama3_config, generation=llama3_generation_config,
                   embed_std=0.5, qk_gain=1.5, norm_offset=1.0),
    # Gemma scales the (tied) embedding by sqrt(hidden) and renormalises every
    # sublayer output, so the norms get scale ~4 to keep the token's own
    # embedding from dominating the logits (greedy would just repeat it).
    "gemma2": dict(arch=transformers.Gemma2ForCausalLM, tokenizer=build_gemma2_tokenizer,
                   config=gemma2_config, generation=gemma2_generation_config,
                   embed_std=0.2, qk_gain=1.5, norm_offset=3.0),
    "phi3": dict(arch=transformers.Phi3ForCausalLM, tokenizer=build_phi3_tokenizer,
                 config=phi3_config, generation=phi3_generation_config,
                 embed_std=0.5, qk_gain=1.5, norm_offset=1.0),
}
SEEDS = {"llama3": 1000, "gemma2": 2000, "phi3": 3000}


def f32_list(tensor):
    """Shortest decimal strings that round-trip the float32 values."""
    return [float(np.format_float_positional(np.float32(x), unique=True, trim="-"))
            for x in tensor.detach().to(torch.float32).numpy().ravel()]


def forward_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]), use_cache=False).logits[0]


def greedy_no_cache(model, ids, steps):
    seq = list(ids)
    for _ in range(steps):
        seq.append(int(forward_logits(model, seq)[-1].argmax()))
    return seq[len(ids):]


def top2_margin(logits_row):
    top = torch.topk(logits_row, 2).values
    return float(top[0] - top[1])


def build_model(name, family, config, seed):
    torch.manual_seed(seed)
    model = family["arch"](config)
    randomize(model, family["embed_std"], family["qk_gain"], family["norm_offset"])
    model.config._attn_implementation = "eager"   # sdpa skips Gemma 2 softcapping
    return model.eval()


def generate(model, prompt, use_cache):
    cfg = GenerationConfig(max_new_tokens=NEW_TOKENS, do_sample=False, use_cache=use_cache, eos_token_id=None,
                           pad_token_id=0, output_logits=True,
                           return_dict_in_generate=True)
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt),
                             dtype=torch.long), generation_config=cfg)
    ids = out.sequences[0, len(prompt):].tolist()
    return ids, [row[0] for row in out.logits]


def make_model(name, family, hf_tok, ids, stop_ids):
    """Picks the first seed whose greedy run is unambiguous, stop-free and not
    a repetition of a few tokens (which a broken engine could match)."""
    config = family["config"](ids)
    prompt_text = hf_tok.apply_chat_template(
        [{"role": "user", "content": PROMPT_USER_MESSAGE}], tokenize=False,
        add_generation_prompt=True)
    prompt = hf_tok(prompt_text, add_special_tokens=False)["input_ids"]
    for seed in range(SEEDS[name], SEEDS[name] + MAX_SEED_TRIES):
        model = build_model(name, family, config, seed)
        cont, step_logits = generate(model, prompt, use_cache=True)
        margins = [top2_margin(row) for row in step_logits]
        if (len(cont) != NEW_TOKENS or min(margins) < MIN_TOP2_MARGIN
                or any(t in stop_ids for t in cont)
                or len(set(cont)) < NEW_TOKENS * 3 // 8
                or [int(row.argmax()) for row in step_logits] != cont):
            continue
        return model, seed, prompt_text, prompt, cont, step_logits, margins
    sys.exit(f"{name}: no seed in range gives an unambiguous greedy run")


def record_model(name, family):
    out_dir = MODELS_DIR / name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)

    spec, tok_config, ids = family["tokenizer"]()
    (out_dir / "tokenizer.json").write_text(
        json.dumps(spec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps(tok_config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    hf_tok = AutoTokenizer.from_pretrained(out_dir)

    gen_config = family["generation"](ids)
    stop_ids = set(gen_config.eos_token_id)
    model, seed, prompt_text, prompt, cont, step_logits, margins = make_model(
        name, family, hf_tok, ids, stop_ids)

    # Cross-checks on the reference itself.
    cont_nocache, _ = generate(model, prompt, use_cache=False)
    assert cont_nocache == cont, f"{name}: cache/no-cache greedy mismatch"
    assert greedy_no_cache(model, prompt, NEW_TOKENS) == cont, f"{name}: manual greedy mismatch"
    full = prompt + cont
    full_logits = forward_logits(model, full[:-1])
    for k, row in enumerate(step_logits):
        diff = float((row - full_logits[len(prompt) - 1 + k]).abs().max())
        assert diff < 1e-4, f"{name}: cached step {k} differs from full forward by {diff}"

    model.save_pretrained(out_dir, safe_serialization=True)
    gen_config.save_pretrained(out_dir)

    n = len(prompt)
    prompt_logits = forward_logits(model, prompt)
    prompt_positions = sorted({0, 15, 16, n - 1})
    decode_positions = [n - 1 + NEW_TOKENS - 1]      # last greedy step, past the window
    stats = {"max_abs_logit": float(prompt_logits.abs().max())}
    softcap = getattr(model.config, "final_logit_softcapping", None)
    if softcap:
        stats["max_abs_logit_over_final_softcap"] = stats["max_abs_logit"] / softcap
    golden = {
        "model": name,
        "architecture": model.config.architectures[0],
        "seed": seed,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
        "dtype": "float32",
        "prompt_text": prompt_text,
        "prompt_ids": prompt,
        "prompt_logits": [{"position": p, "values": f32_list(prompt_logits[p])}
                          for p in prompt_positions],
        "greedy": {"max_new_tokens": NEW_TOKENS, "ignore_eos": True, "ids": cont,
                   "text": hf_tok.decode(cont, skip_special_tokens=False),
                   "min_top2_margin": min(margins)},
        "sequence_logits": [{"position": p, "values": f32_list(full_logits[p])}
                            for p in decode_positions],
        "stats": stats,
        "tolerance": {"max_abs_logit_diff": 1e-3},
    }
    (out_dir / "golden.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1)
                                         + "\n", encoding="utf-8")
    return hf_tok, ids


# --------------------------------------------------------------------------
# Tokenizer and chat-template cases
# --------------------------------------------------------------------------

SPECIAL_TEXTS = {
    "llama3": ["<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>"],
    "gemma2": ["<start_of_turn>", "<end_of_turn>", "<bos>"],
    "phi3": ["<|user|>", "<|end|>", "<|endoftext|>", "</s>"],
}


def tokenizer_cases(name, hf_tok):
    raw = Tokenizer.from_file(str(MODELS_DIR / name / "tokenizer.json"))
    cases = []
    for text in tokenizer_case_texts(SPECIAL_TEXTS[name]):
        ids = hf_tok(text, add_special_tokens=False)["input_ids"]
        ids_special = hf_tok(text, add_special_tokens=True)["input_ids"]
        # The C++ side reads tokenizer.json only; it must be enough.
        assert raw.encode(text, add_special_tokens=False).ids == ids, (name, text)
        assert raw.encode(text, add_special_tokens=True).ids == ids_special, (name, text)
        cases.append({
            "text": text,
            "ids": ids,
            "ids_with_special": ids_special,
            "tokens": raw.encode(text, add_special_tokens=False).tokens,
            "decoded": raw.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": raw.decode(ids_special, skip_special_tokens=True),
        })
    return cases


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]

CHAT_CONVERSATIONS = {
    "user_only": [{"role": "user", "content": "Hello there!"}],
    "user_padded": [{"role": "user", "content": "  \n Spaces around me.\n\n "}],
    "system_user": [{"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [{"role": "user", "content": "Hi!"},
                   {"role": "assistant", "content": "Hello. How can I help?"},
                   {"role": "user", "content": "Name a colour in Русский and 中文."}],
    "system_multi_turn": [{"role": "system", "content": "Answer in one word."},
                          {"role": "user", "content": "Sky colour?"},
                          {"role": "assistant", "content": "Blue."},
                          {"role": "user", "content": "Grass?"}],
    "ends_with_assistant": [{"role": "user", "content": "Say yes."},
                            {"role": "assistant", "content": "Yes."}],
    "not_alternating": [{"role": "user", "content": "One."},
                        {"role": "user", "content": "Two."}],
    "assistant_first": [{"role": "assistant", "content": "I start."},
                        {"role": "user", "content": "Fine."}],
    "special_text_in_content": [{"role": "user",
                                 "content": "Echo <|eot_id|> <end_of_turn> <|end|> please"}],
}

LLAMA3_TOOL_CONVERSATIONS = {
    "tools_user": ([{"role": "user", "content": "Weather in Paris?"}], TOOLS),
    "tool_call_and_result": ([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "{\"temp_c\": 18}"},
    ], TOOLS),
}


def render_case(hf_tok, messages, add_generation_prompt, tools=None):
    case = {"messages": messages, "add_generation_prompt": add_generation_prompt}
    if tools is not None:
        case["tools"] = tools
    try:
        text = hf_tok.apply_chat_template(messages, tools=tools, tokenize=False,
                                          add_generation_prompt=add_generation_prompt)
    except Exception as e:  # the template's raise_exception
        case["error"] = str(e)
        return case
    case["text"] = text
    case["ids"] = hf_tok(text, add_special_tokens=False)["input_ids"]
    return case


def chat_cases(name, hf_tok):
    cases = []
    for case_name, messages in CHAT_CONVERSATIONS.items():
        for agp in (True, False):
            case = render_case(hf_tok, messages, agp)
            cases.append({"name": case_name, **case})
    if name == "llama3":
        for case_name, (messages, tools) in LLAMA3_TOOL_CONVERSATIONS.items():
            case = render_case(hf_tok, messages, True, tools)
            cases.append({"name": case_name, **case})
    return cases


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    all_tok_cases, all_chat_cases = {}, {}
    for name, family in FAMILIES.items():
        hf_tok, _ = record_model(name, family)
        all_tok_cases[name] = tokenizer_cases(name, hf_tok)
        all_chat_cases[name] = {
            "chat_template_file": f"models/{name}/tokenizer_config.json",
            "cases": chat_cases(name, hf_tok)}
    (HERE / "tokenizer_cases.json").write_text(
        json.dumps(all_tok_cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (HERE / "chat_cases.json").write_text(
        json.dumps(all_chat_cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    for path in sorted(HERE.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".safetensors"):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            print(f"{digest}  {path.stat().st_size:>9}  {path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
