"""A character-level language model on a list of first names (course 5, week 1: "Dinosaurus
Island", with people's names instead of dinosaurs').

The notes' model reads a name one character at a time, x<t> = y<t-1> (x<1> is the zero start
symbol, here the newline), and predicts the next character with a softmax over the 27
characters a-z and "\\n" (end of name): a<t> = tanh(W_aa a<t-1> + W_ax x<t> + b_a),
y_hat<t> = softmax(W_ya a<t> + b_y); the loss is the cross-entropy summed over the characters.
Gradients are clipped to [-5, 5] elementwise before each update, as the assignment's ``clip``
does (``nn.utils.clip_grad_value_``), so an exploding gradient cannot throw the weights away.

Sampling draws y<t> from the softmax (``multinomial``), divided by a temperature first (below 1:
safer, more common names; above 1: more surprising ones), and feeds it back as x<t+1> until "\\n".

Data: the 7,203 English first names that the ``Faker`` package ships
(``faker.providers.person.en.Provider.first_names``), lower-cased, letters only. Batches of names
of different lengths are packed (``nn.utils.rnn.pack_sequence``), so no step is spent on padding.

    python -m examples.char_lm [--device cuda] [--quick] [--epochs N] [--hidden N]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy

import autograd as A
import nn
import nn.functional as F
import optim
from examples import common
from nn.utils.rnn import pack_sequence

VOCAB = "\nabcdefghijklmnopqrstuvwxyz"  # index 0 is "\n": the start symbol and the end of a name
CHAR_TO_INDEX = {c: i for i, c in enumerate(VOCAB)}


def load_names() -> list:
    """Faker's English first names, lower-case letters only, without duplicates, sorted."""
    try:
        from faker.providers.person.en import Provider
    except ImportError as error:
        raise SystemExit("char_lm needs the Faker package: pip install Faker") from error
    names = {name.lower() for name in Provider.first_names}
    return sorted(n for n in names if n.isascii() and n.isalpha())


class CharRNN(nn.Module):
    """One-hot characters -> RNN (tanh) -> Linear to 27 logits: the notes' a<t>, y_hat<t>."""

    def __init__(self, hidden: int, device: str) -> None:
        super().__init__()
        self.rnn = nn.RNN(len(VOCAB), hidden, device=device)
        self.head = nn.Linear(hidden, len(VOCAB), device=device)

    def forward(self, packed):
        out, h = self.rnn(packed)
        return self.head(out.data), h  # logits of every packed step


def encode(name: str, device: str) -> tuple:
    """(inputs, targets) of one name: x = "\\n" + name, y = name + "\\n", inputs one-hot."""
    indices = [CHAR_TO_INDEX[c] for c in name]
    x = A.tensor([0, *indices], device=device)
    y = A.tensor([*indices, 0], device=device)
    return A.one_hot(x, len(VOCAB)).float(), y


def sample(model: CharRNN, temperature: float, device: str, max_length: int = 20) -> str:
    """Draw one name, character by character, from softmax(logits / temperature)."""
    x = A.zeros(1, len(VOCAB), device=device)
    x[0, 0] = 1.0  # the start symbol
    h = None
    letters = []
    with A.no_grad():
        for _ in range(max_length):
            out, h = model.rnn(x, h)  # unbatched: x (1, 27) is one time step
            probs = F.softmax(model.head(out[-1]) / temperature, dim=-1)
            index = probs.multinomial(1).item()
            if index == 0:
                break
            letters.append(VOCAB[index])
            x = A.one_hot(A.tensor([index], device=device), len(VOCAB)).float()
    return "".join(letters)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 15)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (0.01)")
    parser.add_argument("--batch", type=int, default=64, help="names per batch (default 64)")
    args = common.parse_args(parser, argv)
    names = load_names()
    if args.quick:
        names = names[:: len(names) // 400]
    epochs = args.epochs or (2 if args.quick else 15)
    rng = numpy.random.default_rng(args.seed)
    examples = [encode(n, args.device) for n in names]

    model = CharRNN(args.hidden, args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    losses, samples = [], {}
    bar = common.progress(range(1, epochs + 1), desc="epochs", enabled=not args.no_progress)
    for epoch in bar:
        order = rng.permutation(len(examples))
        total, count = 0.0, 0
        for start in range(0, len(order), args.batch):
            batch = [examples[i] for i in order[start : start + args.batch]]
            inputs = pack_sequence([x for x, _ in batch], enforce_sorted=False)
            targets = pack_sequence([y for _, y in batch], enforce_sorted=False)
            optimizer.zero_grad()
            logits, _ = model(inputs)
            loss = F.cross_entropy(logits, targets.data)  # per character, over the packed steps
            loss.backward()
            nn.utils.clip_grad_value_(model.parameters(), 5.0)  # the notes' clip(-5, 5)
            optimizer.step()
            total += loss.item() * targets.data.shape[0]
            count += targets.data.shape[0]
        losses.append(total / count)
        bar.set_postfix(loss=losses[-1])
        if epoch % max(1, epochs // 3) == 0 or epoch == epochs:
            samples[epoch] = [sample(model, 1.0, args.device) for _ in range(6)]

    known = set(names)
    by_temperature = {}
    for temperature in (0.5, 1.0, 1.5):
        drawn = [sample(model, temperature, args.device) for _ in range(40)]
        by_temperature[temperature] = drawn
    rows = [[t, ", ".join(d[:8]), common.percent(sum(n in known for n in d) / len(d))]
            for t, d in by_temperature.items()]  # fmt: skip
    common.print_table(
        "Per-character cross-entropy (uniform guess: ln 27 = 3.30)",
        ["epoch", "loss", "sampled names (temperature 1)"],
        [[e, losses[e - 1], ", ".join(samples.get(e, []))] for e in range(1, epochs + 1)],
    )
    common.print_table(
        "Samples by temperature", ["temperature", "names", "already in the list"], rows
    )
    files = [
        common.save_curves(
            args.out / "char_lm_loss.png",
            {"train": losses},
            xlabel="epoch",
            ylabel="cross-entropy per character",
            title="Character-level name model",
        )
    ]
    return {
        "losses": losses,
        "uniform_loss": math.log(len(VOCAB)),
        "samples": samples,
        "by_temperature": by_temperature,
        "names": len(names),
        "files": [str(f) for f in files],
    }


if __name__ == "__main__":
    main()
