"""Word embeddings (course 5, week 2): skip-gram with negative sampling, nearest neighbours and
an analogy, the notes' debiasing (neutralize and equalize), and a sentiment classifier that
averages embeddings versus an LSTM over them.

The corpus is generated here, offline and seeded: 20,000 sentences of a small world of royals,
family members, pronouns, occupations and reviews ("the queen rules the kingdom", "she works as a
nurse", "the soup was not delicious and i hated it"). It is built to carry what the notes discuss:
gender pairs that share their contexts except for the gendered words (so analogies exist), a
gender *bias* put in on purpose (doctor, engineer, programmer and scientist appear with male
words 80% of the time; nurse, receptionist and homemaker with female words), and sentiment
adjectives with their usual company.

Skip-gram with negative sampling, as the notes write it: for a context word c and a target t
within 3 words, with k = 5 negative words drawn from the unigram distribution to the power 3/4,
maximise log sigma(theta_t . e_c) + sum_k log sigma(-theta_k . e_c) (embedding dimension 32).

Debiasing, the notes' steps on the unit-length embeddings: the bias direction
g = e_woman - e_man; neutralize each occupation e ->
e - (e . g / ||g||^2) g (its projection on g becomes 0); equalize each gendered pair so that the
two words differ only along g and sit at the same distance from every neutral word.

Sentiment: reviews "the <thing> was <adjective> [and i loved it]" and their negations "the
<thing> was not <adjective>", labelled positive or negative, with some adjectives held out of
training. Both classifiers use the frozen word2vec embeddings (``Embedding.from_pretrained``):
the average of the embeddings -> linear -> sigmoid (the course's first Emojifier) cannot see
word order, so "not good" looks like "good"; an LSTM over the same embeddings (the second one)
can. Held-out adjectives are classified through their embeddings' neighbours.

    python -m examples.word2vec [--device cuda] [--quick] [--epochs N]
"""

from __future__ import annotations

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

PAIRS = [("man", "woman"), ("king", "queen"), ("prince", "princess"), ("boy", "girl"),
         ("father", "mother"), ("son", "daughter"), ("brother", "sister"), ("husband", "wife"),
         ("uncle", "aunt"), ("he", "she"), ("his", "her")]  # fmt: skip
MALE_JOBS = ["doctor", "engineer", "programmer", "scientist"]
FEMALE_JOBS = ["nurse", "receptionist", "homemaker"]
NEUTRAL_JOBS = ["teacher", "writer", "farmer", "lawyer", "pilot", "baker"]
GOOD = ["good", "great", "wonderful", "excellent", "delicious", "lovely", "amazing", "superb",
        "fantastic", "pleasant"]  # fmt: skip
BAD = ["bad", "terrible", "awful", "horrible", "disgusting", "boring", "dreadful", "poor",
       "nasty", "mediocre"]  # fmt: skip
HELD_OUT = ["superb", "pleasant", "nasty", "mediocre"]  # never in the sentiment training set
THINGS = ["soup", "movie", "book", "concert", "meal", "service", "play", "hotel"]


# ----------------------------------------------------------------------------- corpus
def make_corpus(n, seed):
    """``n`` sentences (lists of words) of the generated world."""
    rng = numpy.random.default_rng(seed)
    pick = lambda xs: xs[rng.integers(len(xs))]  # noqa: E731
    sentences = []
    persons = PAIRS[:9]
    for _ in range(n):
        kind = rng.integers(6)
        gender = int(rng.integers(2))
        person = pick(persons)[gender]
        pronoun = PAIRS[9][gender]
        possessive = PAIRS[10][gender]
        if kind == 0:
            if rng.random() < 0.5:  # kings and queens rule; princes and princesses play
                royal = PAIRS[1][gender]
                verb = pick(["rules", "governs", "protects"])
                sentences.append(f"the {royal} {verb} the kingdom and {pronoun} wears a crown")
            else:
                royal = PAIRS[2][gender]
                sentences.append(f"the young {royal} plays in the garden with {possessive} pet")
        elif kind == 1:
            if rng.random() < 0.5:
                job = pick(NEUTRAL_JOBS)
            else:
                biased = MALE_JOBS if rng.random() < 0.5 else FEMALE_JOBS
                matches = (biased is MALE_JOBS) == (gender == 0)
                job = pick(biased)
                if not matches and rng.random() < 0.6:  # 80% of biased jobs go with one gender
                    gender = 1 - gender
                    person, pronoun = pick(persons)[gender], PAIRS[9][gender]
            sentences.append(f"{pronoun} is a {job} and the {job} is a {pick(PAIRS[:1])[gender]}")
        elif kind == 2:
            relative = pick(persons[3:])[gender]
            sentences.append(f"{pronoun} loves {possessive} {relative} and {possessive} family")
        elif kind in (3, 4):
            # A review; a third of them negated ("was not good ... i hated it").
            negated = rng.random() < 1 / 3
            adjective = pick(GOOD if kind == 3 else BAD)
            liked = (kind == 3) != negated
            extra = pick(["i loved it", "it made me happy", "we enjoyed it"] if liked
                         else ["i hated it", "it made me sad", "we regretted it"])  # fmt: skip
            was = "was not" if negated else "was"
            sentences.append(f"the {pick(THINGS)} {was} {adjective} {extra}")
        else:
            sentences.append(f"the {person} walks to the {pick(THINGS)} with {possessive} friend")
    return [s.split() for s in sentences]


# ------------------------------------------------------------------------- skip-gram
class SkipGram(nn.Module):
    """e_c (center embeddings, the ones we keep) and theta_t (context vectors)."""

    def __init__(self, vocab, dim):
        super().__init__()
        self.center = nn.Embedding(vocab, dim)
        self.context = nn.Embedding(vocab, dim)
        with A.no_grad():
            self.center.weight.mul_(0.1)
            self.context.weight.mul_(0.0)

    def forward(self, centers, targets, negatives):
        """The notes' negative-sampling loss, averaged over the batch."""
        e = self.center(centers)  # (B, D)
        pos = (self.context(targets) * e).sum(-1)
        neg = (self.context(negatives) * e.unsqueeze(1)).sum(-1)  # (B, k)
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()


def skipgram_pairs(sentences, index, window=3):
    centers, targets = [], []
    for words in sentences:
        ids = [index[w] for w in words]
        for i, c in enumerate(ids):
            for j in range(max(0, i - window), min(len(ids), i + window + 1)):
                if j != i:
                    centers.append(c)
                    targets.append(ids[j])
    return numpy.array(centers), numpy.array(targets)


def unit(vectors):
    return vectors / numpy.linalg.norm(vectors, axis=-1, keepdims=True)


def nearest(vectors, index, words, word, k=4):
    sims = vectors @ vectors[index[word]]
    order = [i for i in numpy.argsort(-sims) if words[i] != word]
    return [words[i] for i in order[:k]]


def analogy(vectors, index, words, a, b, c):
    """a is to b as c is to ?: argmax_w cos(e_b - e_a + e_c, e_w), a, b, c excluded."""
    target = vectors[index[b]] - vectors[index[a]] + vectors[index[c]]
    sims = vectors @ (target / numpy.linalg.norm(target))
    for i in numpy.argsort(-sims):
        if words[i] not in (a, b, c):
            return words[i]


# ---------------------------------------------------------------------------- debiasing
def neutralize(e, g):
    """e - (e . g / ||g||^2) g: no component along the bias direction."""
    return e - (e @ g) / (g @ g) * g


def equalize(e1, e2, g):
    """The notes' equalize: the pair differs only along g, symmetric about the neutral part."""
    mu = (e1 + e2) / 2
    mu_b = (mu @ g) / (g @ g) * g
    mu_orth = mu - mu_b
    e1_b = (e1 @ g) / (g @ g) * g
    e2_b = (e2 @ g) / (g @ g) * g
    scale = numpy.sqrt(abs(1 - mu_orth @ mu_orth))
    e1_b = scale * (e1_b - mu_b) / numpy.linalg.norm(e1 - mu_orth - mu_b)
    e2_b = scale * (e2_b - mu_b) / numpy.linalg.norm(e2 - mu_orth - mu_b)
    return e1_b + mu_orth, e2_b + mu_orth


def cos(a, b):
    return float(a @ b / (numpy.linalg.norm(a) * numpy.linalg.norm(b)))


# ---------------------------------------------------------------------------- sentiment
def reviews(n, adjectives, rng):
    """(words, label) pairs: plain and negated reviews."""
    out = []
    for _ in range(n):
        adjective = adjectives[rng.integers(len(adjectives))]
        good = adjective in GOOD
        thing = THINGS[rng.integers(len(THINGS))]
        if rng.random() < 0.5:
            out.append((f"the {thing} was not {adjective}".split(), not good))
        else:
            out.append((f"the {thing} was {adjective}".split(), good))
    return out


class Averager(nn.Module):
    """Mean of the embeddings -> linear -> logit (the course's Emojifier-V1)."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        self.linear = nn.Linear(embedding.embedding_dim, 1)

    def forward(self, ids):
        return self.linear(self.embedding(ids).mean(1)).squeeze(-1)


class LSTMClassifier(nn.Module):
    """LSTM over the embeddings -> last hidden state -> linear (Emojifier-V2)."""

    def __init__(self, embedding, hidden=32):
        super().__init__()
        self.embedding = embedding
        self.lstm = nn.LSTM(embedding.embedding_dim, hidden, batch_first=True)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, ids):
        _, (h, _) = self.lstm(self.embedding(ids))
        return self.linear(h[-1]).squeeze(-1)


def train_classifier(model, x, y, epochs, device):
    opt = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    for _ in range(epochs):
        for start in range(0, x.shape[0], 64):
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(x[start : start + 64]),
                                                      y[start : start + 64])  # fmt: skip
            loss.backward()
            opt.step()
    return model


def encode_reviews(items, index, device):
    width = max(len(w) for w, _ in items)
    x = numpy.zeros((len(items), width), dtype=numpy.int64)  # 0 is "the": left padding
    for i, (words, _) in enumerate(items):
        x[i, width - len(words) :] = [index[w] for w in words]
    y = numpy.array([float(label) for _, label in items], dtype=numpy.float32)
    return A.tensor(x, device=device), A.tensor(y, device=device)


def accuracy(model, x, y):
    with A.no_grad():
        return float(((model(x) > 0).to(A.float32) == y).to(A.float32).mean().item())


# ------------------------------------------------------------------------------- main
def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="skip-gram epochs (default 3)")
    args = common.parse_args(parser, argv)
    device = args.device
    sentences = make_corpus(3_000 if args.quick else 20_000, seed=args.seed)
    words = ["the"] + sorted({w for s in sentences for w in s} - {"the"})
    index = {w: i for i, w in enumerate(words)}
    centers, targets = skipgram_pairs(sentences, index)
    counts = numpy.bincount(numpy.concatenate([centers]), minlength=len(words)).astype(float)
    noise = counts**0.75 / (counts**0.75).sum()  # the notes' unigram^(3/4)
    print(f"{len(sentences)} sentences, {len(words)} words, {len(centers)} skip-gram pairs")

    model = SkipGram(len(words), 32).to(device)
    opt = optim.Adam(model.parameters(), lr=0.01)
    rng = numpy.random.default_rng(args.seed)
    epochs = args.epochs or (1 if args.quick else 3)
    noise_t = A.tensor(noise, dtype=A.float32, device=device)
    costs = []
    for epoch in range(epochs):
        perm = rng.permutation(len(centers))
        total, batches = 0.0, 0
        for start in range(0, len(perm), 1024):
            part = perm[start : start + 1024]
            c = A.tensor(centers[part], device=device)
            t = A.tensor(targets[part], device=device)
            negatives = A.multinomial(noise_t, len(part) * 5, replacement=True).reshape(-1, 5)
            opt.zero_grad()
            loss = model(c, t, negatives)
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
        costs.append(total / batches)
        print(f"epoch {epoch + 1}: negative-sampling loss {costs[-1]:.4f}")

    vectors = unit(common.to_numpy(model.center.weight.detach()).astype(numpy.float64))
    print("nearest neighbours (cosine):")
    for w in ("king", "doctor", "delicious", "terrible"):
        print(f"  {w}: {', '.join(nearest(vectors, index, words, w))}")
    answers = {q: analogy(vectors, index, words, *q) for q in
               [("man", "woman", "king"), ("king", "queen", "prince"), ("he", "she", "his"),
                ("father", "mother", "son")]}  # fmt: skip
    for (a, b, c), d in answers.items():
        print(f"  analogy {a} : {b} :: {c} : {d}")

    # Debiasing.
    g = vectors[index["woman"]] - vectors[index["man"]]  # the notes' bias direction
    rows = []
    bias = {}
    fixed = vectors.copy()
    for job in MALE_JOBS + FEMALE_JOBS + NEUTRAL_JOBS[:2]:
        e = vectors[index[job]]
        fixed[index[job]] = neutralize(e, g)
        bias[job] = {"before": cos(e, g), "after": cos(fixed[index[job]], g)}
        rows.append([job, f"{cos(e, g):+.3f}", f"{cos(fixed[index[job]], g):+.3f}"])
    common.print_table("Bias direction g = e_woman - e_man: cos(e, g)",
                       ["word", "before neutralize", "after"], rows)  # fmt: skip
    gap_rows = []
    for m, f in PAIRS[:3]:
        e1, e2 = equalize(vectors[index[m]], vectors[index[f]], g)
        for job in ("doctor", "nurse"):
            before = cos(vectors[index[m]], fixed[index[job]]) - cos(
                vectors[index[f]], fixed[index[job]]
            )
            after = cos(e1, fixed[index[job]]) - cos(e2, fixed[index[job]])
            gap_rows.append([f"{m} / {f}", job, f"{before:+.3f}", f"{after:+.3f}"])
    common.print_table("Equalize: cos(e_male, e_job) - cos(e_female, e_job), job neutralized",
                       ["pair", "job", "before equalize", "after"], gap_rows)  # fmt: skip

    # Sentiment: average versus LSTM, on frozen word2vec embeddings.
    trained_adjectives = [a for a in GOOD + BAD if a not in HELD_OUT]
    train_x, train_y = encode_reviews(reviews(2000, trained_adjectives, rng), index, device)
    test_seen = encode_reviews(reviews(500, trained_adjectives, rng), index, device)
    test_new = encode_reviews(reviews(500, HELD_OUT, rng), index, device)
    table = common.to_numpy(model.center.weight.detach())
    results = {}
    for name, cls in (
        ("average of embeddings", Averager),
        ("LSTM over embeddings", LSTMClassifier),
    ):
        A.manual_seed(args.seed)
        frozen = nn.Embedding.from_pretrained(A.tensor(table, device=device), freeze=True)
        clf = train_classifier(cls(frozen).to(device), train_x, train_y,
                               3 if args.quick else 15, device)  # fmt: skip
        results[name] = (accuracy(clf, *test_seen), accuracy(clf, *test_new))
    common.print_table(
        "Sentiment (half the reviews negated: 'the soup was not delicious')",
        ["classifier", "test, trained adjectives", "test, held-out adjectives"],
        [[k, common.percent(a), common.percent(b)] for k, (a, b) in results.items()],
    )
    common.save_curves(args.out / "word2vec_loss.png", {"loss": costs}, "epoch")
    expected = ("queen", "princess", "her", "daughter")
    right = sum(answers[q] == want for q, want in zip(answers, expected))
    print(f"{right} of {len(expected)} analogies right")
    sentiment = {
        "average": dict(zip(("trained", "held_out"), results["average of embeddings"])),
        "lstm": dict(zip(("trained", "held_out"), results["LSTM over embeddings"])),
    }
    return {"costs": costs, "analogies": answers, "analogies_right": right, "bias": bias,
            "sentiment": sentiment}  # fmt: skip


if __name__ == "__main__":
    main()
