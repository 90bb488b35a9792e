"""Token ids of cai's tokenizer against the Hugging Face `tokenizers` package.

Trains a tokenizer.json with tokenizer_tool (our BPE trainer), then encodes the same texts with
both implementations. Needs `tokenizers` in the test venv and CAI_TOKENIZER_TOOL set by CTest.
"""
import json
import os
import subprocess

import pytest

tokenizers = pytest.importorskip("tokenizers")

TOOL = os.environ.get("CAI_TOKENIZER_TOOL", "")

CORPUS = "\n".join([
    "The quick brown fox jumps over the lazy dog. It's what they'd said; we'll see.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Москва — столица.",
    "我能吞下玻璃而不伤身体。北京是中国的首都。日本語のテキスト。한국어 문장입니다.",
    "مرحبا بالعالم، القاهرة هي عاصمة مصر. שלום עולם. Γειά σου Κόσμε. नमस्ते दुनिया",
    "def f(x):\n    return x ** 2  # square\n\tif (a && b) { c++; }\r\n",
    "Prices: $1,024.50 (12.5%) on 2024-07-26 at 10:30; 1234567890 ١٢٣٤٥ 一二三.",
    "Emoji 😀👋🏽 👨‍👩‍👧‍👦 🇺🇸 ✓ ★ — “quotes” ‘single’ … «guillemets»",
] * 20)

TEXTS = [
    "Hello world's 12345 !!\n\n  x",
    "The quick brown fox jumps over the lazy dog.",
    "Съешь же ещё этих мягких французских булок",
    "我能吞下玻璃而不伤身体。",
    "مرحبا بالعالم",
    "Emoji: 😀👋🏽👨‍👩‍👧‍👦🇺🇸 done",
    "int main() {\n\treturn 0;\n}\n",
    " " * 50 + "x" + "\n" * 7 + "\t \r\n  ",
    "3.14159 1,000,000 0x7fff 2024-07-26 ١٢٣ 一二三",
    "I'M YOU'RE THEY'LL HE'D 'S 'st",
    "unseen wörds ünïcödé Zoë naïve façade",
    "<|begin_of_text|>hi<|eot_id|> and <|start_header_id|>user<|end_header_id|>",
    "a\u00a0b\u2003c\u3000d\u0085e",
    "",
]


def run_tool(*args, stdin=None):
    result = subprocess.run([TOOL, *args], input=stdin, capture_output=True, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory):
    if not TOOL:
        pytest.skip("CAI_TOKENIZER_TOOL is not set")
    directory = tmp_path_factory.mktemp("tok")
    corpus = directory / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    path = directory / "tokenizer.json"
    run_tool("train", str(corpus), "800", str(path))
    return path


def test_ids_match_hugging_face(tokenizer_json):
    hf = tokenizers.Tokenizer.from_file(str(tokenizer_json))
    # HF always matches special tokens, so compare against allow_special = true.
    ours = json.loads(run_tool("encode", str(tokenizer_json), "1",
                               stdin=json.dumps(TEXTS).encode()))
    for text, ids in zip(TEXTS, ours):
        assert ids == hf.encode(text, add_special_tokens=False).ids, repr(text)
        assert hf.decode(ids, skip_special_tokens=False) == text


def test_specials_are_text_without_allow_special(tokenizer_json):
    hf = tokenizers.Tokenizer.from_file(str(tokenizer_json))
    text = "<|eot_id|>"
    ours = json.loads(run_tool("encode", str(tokenizer_json), "0",
                               stdin=json.dumps([text]).encode()))[0]
    assert ours != hf.encode(text, add_special_tokens=False).ids
    assert hf.decode(ours) == text
