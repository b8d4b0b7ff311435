"""keras_text.py - Keras' Tokenizer and pad_sequences, the reference that the tokenizer
end-to-end tests (tests/e2e/tokenize_*.sh) compare seqtrain-tokenize against.

The code follows keras_preprocessing/text.py and sequence.py (Keras 2.x, tf.keras 2.x:
text_to_word_sequence, Tokenizer.fit_on_texts / texts_to_sequences, pad_sequences) statement by
statement, reduced to the parts seqtrain-tokenize implements. It is copied rather than imported
because the test machines have no TensorFlow. Python's own str.lower(), str.translate and
str.split do the text work, so the reference is Python's behaviour, not a re-implementation.
"""
from collections import OrderedDict

KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(text, filters=KERAS_FILTERS, lower=True, split=" "):
    if lower:
        text = text.lower()
    translate_map = str.maketrans({c: split for c in filters})
    seq = text.translate(translate_map).split(split)
    return [i for i in seq if i]


class Tokenizer:
    def __init__(self, num_words=None, filters=KERAS_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None):
        self.word_counts = OrderedDict()
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.word_index = {}

    def _seq(self, text):
        if self.char_level:
            return text.lower() if self.lower else text
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        for text in texts:
            for w in self._seq(text):
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
        wcounts = list(self.word_counts.items())
        wcounts.sort(key=lambda x: x[1], reverse=True)  # stable: ties keep first-seen order
        sorted_voc = [] if self.oov_token is None else [self.oov_token]
        sorted_voc.extend(wc[0] for wc in wcounts)
        self.word_index = dict(zip(sorted_voc, range(1, len(sorted_voc) + 1)))

    def texts_to_sequences(self, texts):
        out = []
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._seq(text):
                i = self.word_index.get(w)
                if i is not None:
                    if self.num_words and i >= self.num_words:
                        if oov_index is not None:
                            vect.append(oov_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_index)
            out.append(vect)
        return out


def pad_sequences(sequences, maxlen=None, padding="pre", truncating="pre", value=0):
    if maxlen is None:
        maxlen = max((len(s) for s in sequences), default=0)
    rows = []
    for s in sequences:
        row = [value] * maxlen
        if s:
            trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
            if padding == "post":
                row[:len(trunc)] = trunc
            else:
                row[maxlen - len(trunc):] = trunc
        rows.append(row)
    return rows
