"""Date translation with attention (course 5, week 3: "Neural Machine Translation with
Attention", "Beam Search", "Bleu Score").

Human-readable dates ("3 may 1979", "tuesday september 10 2001", "10.09.01") are translated into
ISO dates ("1979-05-03"). The data is generated the way the course generated it: random dates
from ``Faker``, written with ``babel`` in many human formats (lower-case, commas removed).

The model is the notes' one: a bidirectional LSTM reads the input characters into a<t'>
(forward and backward states side by side); at every output step t the attention weights are
alpha<t,t'> = softmax over t' of e<t,t'>, with e<t,t'> = relu(v . tanh(W_s s<t-1> + W_a a<t'>))
(the course's two Dense layers on concat(s<t-1>, a<t'>), written as two projections, which is
the same map), the context is c<t> = sum over t' of alpha<t,t'> a<t'>, and a post-attention
``LSTMCell`` takes c<t> (and the previous output character, so that beam search has choices to
make) to s<t>, then softmax(W_y s<t>). It trains with teacher forcing and Adam.

Decoding: greedy (the most likely character at each step) against beam search with width 3,
which keeps the 3 best partial outputs by the notes' length-normalised score
1/T^alpha * sum_t log P(y<t> | x, y<1..t-1>) (alpha = 0.7). Printed: exact-match accuracy of
both on held-out dates, an attention map as a picture, and the BLEU score of the notes (modified
n-gram precisions p_1..p_4, brevity penalty, BP exp(1/4 sum log p_n)), checked against the notes'
hand-computed example first.

    python -m examples.date_translation [--device cuda] [--quick] [--epochs N] [--examples N]
"""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy

import autograd as A
import nn
import nn.functional as F
import optim
from examples import common

# The course's formats (babel patterns), "full" weighted as in the assignment.
FORMATS = ["short", "medium", "long"] + ["full"] * 10 + [
    "d MMM YYY", "d MMMM YYY", "dd MMM YYY", "d MMM, YYY", "d MMMM, YYY", "dd, MMM YYY",
    "d MM YY", "d MMMM YYY", "MMMM d YYY", "MMMM d, YYY", "dd.MM.YY",
]  # fmt: skip
INPUT_LENGTH = 30
MACHINE = "0123456789-"
EOS, SOS = len(MACHINE), len(MACHINE) + 1  # output vocabulary: 11 characters and <eos>
OUTPUT_LENGTH = 11  # "yyyy-mm-dd" and <eos>


# ------------------------------------------------------------------------------------ data
def make_dates(count: int, seed: int) -> list:
    """(human, machine) pairs: random dates in random human formats, as the course made them."""
    try:
        from babel.dates import format_date
        from faker import Faker
    except ImportError as error:
        raise SystemExit(
            "date_translation needs Faker and babel: pip install Faker babel"
        ) from error
    fake = Faker()
    Faker.seed(seed)
    chooser = random.Random(seed)
    pairs = []
    for _ in range(count):
        date = fake.date_object()
        human = format_date(date, format=chooser.choice(FORMATS), locale="en_US")
        pairs.append((human.lower().replace(",", ""), date.isoformat()))
    return pairs


class Vocabulary:
    """Characters of the human dates (index 0 is padding, 1 unknown) and of the ISO dates."""

    def __init__(self, pairs: list) -> None:
        chars = sorted({c for human, _ in pairs for c in human})
        self.human = {c: i + 2 for i, c in enumerate(chars)}

    def encode(self, pairs: list, device: str) -> tuple:
        x = numpy.zeros((len(pairs), INPUT_LENGTH), numpy.int64)
        y = numpy.zeros((len(pairs), OUTPUT_LENGTH), numpy.int64)
        for row, (human, machine) in enumerate(pairs):
            codes = [self.human.get(c, 1) for c in human[:INPUT_LENGTH]]
            x[row, : len(codes)] = codes
            y[row] = [MACHINE.index(c) for c in machine] + [EOS]
        return A.tensor(x, device=device), A.tensor(y, device=device)


# ----------------------------------------------------------------------------------- model
class AdditiveAttention(nn.Module):
    """The notes' attention: alpha<t,t'> = softmax_t'(relu(v . tanh(W_s s + W_a a<t'>))),
    c<t> = sum_t' alpha<t,t'> a<t'>.

    Shape: s (B, n_s), a (B, T', n_a) -> context (B, n_a), alpha (B, T').
    """

    def __init__(self, n_s: int, n_a: int, hidden: int = 10, device: str = "cpu") -> None:
        super().__init__()
        self.encoder_proj = nn.Linear(n_a, hidden, device=device)
        self.state_proj = nn.Linear(n_s, hidden, bias=False, device=device)
        self.energy = nn.Linear(hidden, 1, device=device)

    def forward(self, s, a, a_proj=None):
        if a_proj is None:
            a_proj = self.encoder_proj(a)  # the same for every output step: computed once
        hidden = (a_proj + self.state_proj(s).unsqueeze(1)).tanh()
        energies = self.energy(hidden).squeeze(-1).relu()
        alpha = F.softmax(energies, dim=1)
        context = (alpha.unsqueeze(1) @ a).squeeze(1)
        return context, alpha


class DateTranslator(nn.Module):
    """Bi-LSTM encoder (32 + 32), additive attention, post-attention LSTMCell (64)."""

    def __init__(self, input_vocab: int, device: str) -> None:
        super().__init__()
        self.embed = nn.Embedding(input_vocab, 16, padding_idx=0, device=device)
        self.encoder = nn.LSTM(16, 32, bidirectional=True, batch_first=True, device=device)
        self.attention = AdditiveAttention(64, 64, device=device)
        self.previous = nn.Embedding(SOS + 1, 8, device=device)
        self.decoder = nn.LSTMCell(64 + 8, 64, device=device)
        self.head = nn.Linear(64, EOS + 1, device=device)

    def encode(self, x):
        a, _ = self.encoder(self.embed(x))
        batch = x.shape[0]
        zeros = A.zeros(batch, 64, device=x.device)
        return a, self.attention.encoder_proj(a), (zeros, zeros)

    def step(self, memory, state, previous):
        """One output step: (log-probabilities (B, 12), new state, alpha (B, T'))."""
        a, a_proj = memory
        context, alpha = self.attention(state[0], a, a_proj)
        inputs = A.cat([context, self.previous(previous)], 1)
        state = self.decoder(inputs, state)
        return F.log_softmax(self.head(state[0]), dim=1), state, alpha

    def forward(self, x, y):
        """Teacher forcing: log-probabilities (B, 11, 12) of y given x and y's own prefix."""
        a, a_proj, state = self.encode(x)
        previous = A.cat([A.full((x.shape[0], 1), SOS, device=x.device).long(), y[:, :-1]], 1)
        outputs = []
        for t in range(OUTPUT_LENGTH):
            log_probs, state, _ = self.step((a, a_proj), state, previous[:, t])
            outputs.append(log_probs)
        return A.stack(outputs, 1)


# -------------------------------------------------------------------------------- decoding
def greedy(model, x):
    """The most likely character at each step; returns (B, 11) codes and (B, 11, T') alphas."""
    with A.no_grad():
        a, a_proj, state = model.encode(x)
        previous = A.full((x.shape[0],), SOS, device=x.device).long()
        codes, alphas = [], []
        for _ in range(OUTPUT_LENGTH):
            log_probs, state, alpha = model.step((a, a_proj), state, previous)
            previous = log_probs.argmax(dim=1)
            codes.append(common.to_numpy(previous))
            alphas.append(common.to_numpy(alpha))
    return numpy.stack(codes, 1), numpy.stack(alphas, 1)


def beam_search(model, x, width: int = 3, alpha: float = 0.7):
    """Beam search with the notes' length normalisation 1/T^alpha sum log P; returns (B, 11)."""
    with A.no_grad():
        a, a_proj, (h, c) = model.encode(x)
        batch, steps = x.shape[0], OUTPUT_LENGTH
        rows = numpy.repeat(numpy.arange(batch), width)  # each example's beams side by side
        index = A.tensor(rows, device=x.device)
        memory = (a.index_select(0, index), a_proj.index_select(0, index))
        state = (h.index_select(0, index), c.index_select(0, index))
        scores = numpy.full((batch, width), -numpy.inf)
        scores[:, 0] = 0.0  # one live beam at the start: the others are copies
        lengths = numpy.zeros((batch, width))
        finished = numpy.zeros((batch, width), bool)
        sequences = numpy.full((batch, width, steps), EOS, numpy.int64)
        previous = numpy.full(batch * width, SOS, numpy.int64)
        vocab = EOS + 1
        for t in range(steps):
            log_probs, state, _ = model.step(memory, state, A.tensor(previous, device=x.device))
            log_probs = common.to_numpy(log_probs).reshape(batch, width, vocab)
            # A finished beam only extends by <eos> at no cost and no length.
            log_probs[finished] = -numpy.inf
            log_probs[finished, EOS] = 0.0
            total = scores[:, :, None] + log_probs
            new_lengths = numpy.broadcast_to(
                lengths[:, :, None] + (~finished)[:, :, None], total.shape
            )
            normalized = total / numpy.maximum(new_lengths, 1) ** alpha
            flat = normalized.reshape(batch, -1)
            best = numpy.argsort(-flat, axis=1, kind="stable")[:, :width]
            beam, char = best // vocab, best % vocab
            pick = numpy.arange(batch)[:, None]
            scores = total.reshape(batch, -1)[pick, best]
            lengths = new_lengths.reshape(batch, -1)[pick, best]
            was_finished = finished[pick, beam]
            sequences = sequences[pick, beam]
            sequences[:, :, t] = char
            finished = was_finished | (char == EOS)
            previous = char.reshape(-1)
            gather = A.tensor((pick * width + beam).reshape(-1), device=x.device)
            state = (state[0].index_select(0, gather), state[1].index_select(0, gather))
        final = scores / numpy.maximum(lengths, 1) ** alpha
        return sequences[numpy.arange(batch), final.argmax(axis=1)]


def decode(codes) -> str:
    return "".join(MACHINE[c] for c in codes if c < EOS)


# ------------------------------------------------------------------------------------ BLEU
def modified_precision(candidate: list, references: list, n: int) -> float:
    """Clipped n-gram counts over candidate n-gram counts (the notes' p_n)."""
    grams = Counter(tuple(candidate[i : i + n]) for i in range(len(candidate) - n + 1))
    if not grams:
        return 0.0
    clip = Counter()
    for reference in references:
        ref = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
        for gram in grams:
            clip[gram] = max(clip[gram], ref[gram])
    return sum(min(count, clip[gram]) for gram, count in grams.items()) / sum(grams.values())


def bleu(candidate: list, references: list, max_n: int = 4) -> float:
    """BP exp(1/N sum_n log p_n), BP = 1 if the candidate is longer than the closest
    reference, else exp(1 - r/c) (the notes' brevity penalty)."""
    precisions = [modified_precision(candidate, references, n) for n in range(1, max_n + 1)]
    if min(precisions) == 0:
        return 0.0
    c = len(candidate)
    r = min((abs(len(ref) - c), len(ref)) for ref in references)[1]
    penalty = 1.0 if c > r else math.exp(1 - r / c)
    return penalty * math.exp(sum(math.log(p) for p in precisions) / max_n)


def check_bleu_against_the_notes() -> dict:
    """The notes' example: references "the cat is on the mat", "there is a cat on the mat"."""
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    sevens = "the the the the the the the".split()
    bigrams = "the cat the cat on the mat".split()
    checks = {
        "p1('the' x 7) = 2/7": (modified_precision(sevens, refs, 1), 2 / 7),
        "p2('the cat the cat on the mat') = 4/6": (modified_precision(bigrams, refs, 2), 4 / 6),
        "p1('the cat the cat on the mat') = 5/7": (modified_precision(bigrams, refs, 1), 5 / 7),
        "BLEU(reference itself) = 1": (bleu(refs[0], refs), 1.0),
    }
    for name, (ours, expected) in checks.items():
        if abs(ours - expected) > 1e-12:
            raise AssertionError(f"BLEU check {name}: got {ours}")
    return {name: ours for name, (ours, _) in checks.items()}


# ------------------------------------------------------------------------------------ main
def save_attention_map(path: Path, human: str, output: str, alpha) -> Path | None:
    plt = common.pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.imshow(alpha[: len(output) + 1, : len(human)], cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(human)), list(human))
    ax.set_yticks(range(len(output) + 1), [*output, "<eos>"])
    ax.set_xlabel("input character t'")
    ax.set_ylabel("output character t")
    ax.set_title("attention weights alpha<t, t'>")
    return common.save_figure(fig, path)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 12)")
    parser.add_argument("--examples", type=int, default=None, help="training dates (10,000)")
    parser.add_argument("--lr", type=float, default=0.005, help="Adam learning rate (0.005)")
    args = common.parse_args(parser, argv)
    bleu_checks = check_bleu_against_the_notes()
    count = args.examples or (600 if args.quick else 10000)
    epochs = args.epochs or (1 if args.quick else 12)
    held_out = 100 if args.quick else 1000
    pairs = make_dates(count + held_out, args.seed)
    train_pairs, test_pairs = pairs[:count], pairs[count:]
    vocab = Vocabulary(train_pairs)
    x_train, y_train = vocab.encode(train_pairs, args.device)
    x_test, y_test = vocab.encode(test_pairs, args.device)

    model = DateTranslator(len(vocab.human) + 2, args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    rng = numpy.random.default_rng(args.seed)
    losses = []
    bar = common.progress(range(epochs), desc="epochs", enabled=not args.no_progress)
    for _ in bar:
        order = rng.permutation(count)
        total = 0.0
        for start in range(0, count, 100):
            batch = A.tensor(order[start : start + 100], device=args.device)
            x, y = x_train.index_select(0, batch), y_train.index_select(0, batch)
            optimizer.zero_grad()
            log_probs = model(x, y)
            loss = F.nll_loss(log_probs.reshape(-1, EOS + 1), y.reshape(-1))
            loss.backward()
            optimizer.step()
            total += loss.item() * x.shape[0]
        losses.append(total / count)
        bar.set_postfix(loss=losses[-1])

    model.eval()
    targets = common.to_numpy(y_test)
    greedy_codes, alphas = greedy(model, x_test)
    beam_codes = beam_search(model, x_test, width=3)
    greedy_exact = float((greedy_codes == targets).all(axis=1).mean())
    beam_exact = float((beam_codes == targets).all(axis=1).mean())
    greedy_bleu = numpy.mean(
        [bleu(list(decode(g)), [list(decode(t))]) for g, t in zip(greedy_codes, targets)]
    )
    rows = [
        [human, decode(g), decode(b), machine]
        for (human, machine), g, b in list(zip(test_pairs, greedy_codes, beam_codes))[:8]
    ]
    common.print_table("Held-out dates", ["human", "greedy", "beam (3)", "ISO"], rows)
    common.print_table(
        f"Exact match on {held_out} held-out dates after {epochs} epochs",
        ["decoder", "exact match", "mean character BLEU"],
        [
            ["greedy", common.percent(greedy_exact), f"{greedy_bleu:.3f}"],
            ["beam search, width 3, alpha 0.7", common.percent(beam_exact), "-"],
        ],
    )
    common.print_table(
        "BLEU against the notes' hand-computed example",
        ["check", "ours"],
        [[k, f"{v:.4f}"] for k, v in bleu_checks.items()],
    )
    files = [
        common.save_curves(
            args.out / "date_translation_loss.png",
            {"train": losses},
            xlabel="epoch",
            ylabel="cross-entropy per character",
        )
    ]
    shown = max(range(min(20, held_out)), key=lambda i: len(test_pairs[i][0]))  # a long one
    picture = save_attention_map(
        args.out / "date_translation_attention.png",
        test_pairs[shown][0],
        decode(greedy_codes[shown]),
        alphas[shown],
    )
    if picture is not None:
        files.append(picture)
    return {
        "losses": losses,
        "greedy_exact": greedy_exact,
        "beam_exact": beam_exact,
        "greedy_bleu": float(greedy_bleu),
        "bleu_checks": bleu_checks,
        "files": [str(f) for f in files],
    }


if __name__ == "__main__":
    main()
