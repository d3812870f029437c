"""Build a tiny, randomly initialised T5 checkpoint for tests, entirely offline.

``build_tiny_t5`` trains a small sentencepiece unigram vocabulary on the given
text, wraps it in a ``T5Tokenizer`` (transformers 5.x builds it from a
``vocab=[(piece, score), ...]`` list: ids 0-2 are <pad>, </s>, <unk>), creates a
2-layer ``T5ForConditionalGeneration`` whose vocabulary matches, and saves both
with ``save_pretrained`` so ``AutoTokenizer``/``AutoModelForSeq2SeqLM`` load the
folder like any downloaded checkpoint. The model writes noise; tests assert on
structure (windows, sections, dedupe), never on content.
"""

from __future__ import annotations

import io
from pathlib import Path

VOCAB_SIZE = 600
# Small on purpose: tests reach the map-reduce path with a few kilobytes of text.
MODEL_MAX_LENGTH = 256
SEED = 1234


def train_vocab(texts: list[str], vocab_size: int = VOCAB_SIZE) -> list[tuple[str, float]]:
    """Sentencepiece unigram pieces with scores, laid out as T5 expects (pad, eos, unk first)."""
    import sentencepiece as spm

    lines = [line for text in texts for line in text.splitlines() if line.strip()]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
    )
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    return [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]


def build_tiny_t5(folder: Path, corpus_texts: list[str]) -> Path:
    """Save a tiny T5 tokenizer + model trained/initialised from ``corpus_texts`` into ``folder``."""
    import torch  # imported here, not at collection: PyTorch takes seconds to import
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration, T5Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = train_vocab(corpus_texts)
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=MODEL_MAX_LENGTH)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    config.decoder_start_token_id = tokenizer.pad_token_id  # as in google/flan-t5-* configs
    torch.manual_seed(SEED)
    model = T5ForConditionalGeneration(config).eval()
    # A real checkpoint ships its generation defaults; ask for a few tokens so noise is not empty.
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.pad_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        min_new_tokens=4,
    )
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
