"""Custom Keras layers for what plain Keras has no single layer for.

Each block is registered as `layerlab>Name` so saved `.keras` models load without
Layerlab's code paths, builds its sublayers in an explicit `build()` (Keras 3 warns
about unbuilt state otherwise), and takes only plain numbers, so its config is plain
JSON and `layerlab.codegen.model_code` can copy the class verbatim into a standalone script.
Each class uses only `keras.` names and the `_l1l2` helper, for that reason.

This module imports Keras at the top: only builders and build.py import it, lazily.
"""

from __future__ import annotations

import keras


def _l1l2(l1: float, l2: float):
    """A weight penalty, or None when both strengths are zero (saves a no-op term)."""
    if not l1 and not l2:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


@keras.saving.register_keras_serializable(package="layerlab")
class ResidualConvBlock(keras.layers.Layer):
    """Two same-padded convolutions with batch norm, added back onto the input.

    The skip path lets deeper image models train; a 1x1 convolution matches the
    channel count when it changes.
    """

    def __init__(self, filters: int, kernel_size: int = 3, activation: str = "relu",
                 l1: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.activation = activation
        self.l1 = l1
        self.l2 = l2
        conv = dict(padding="same", use_bias=False, kernel_regularizer=_l1l2(l1, l2), dtype=self.dtype_policy)
        self.conv1 = keras.layers.Conv2D(filters, kernel_size, **conv)
        self.norm1 = keras.layers.BatchNormalization(dtype=self.dtype_policy)
        self.conv2 = keras.layers.Conv2D(filters, kernel_size, **conv)
        self.norm2 = keras.layers.BatchNormalization(dtype=self.dtype_policy)
        self.act = keras.layers.Activation(activation, dtype=self.dtype_policy)
        self.shortcut = None

    def build(self, input_shape):
        out_shape = tuple(input_shape[:-1]) + (self.filters,)
        self.conv1.build(input_shape)
        self.norm1.build(out_shape)
        self.conv2.build(out_shape)
        self.norm2.build(out_shape)
        if input_shape[-1] != self.filters:
            self.shortcut = keras.layers.Conv2D(self.filters, 1, padding="same", dtype=self.dtype_policy)
            self.shortcut.build(input_shape)

    def call(self, x, training=None):
        h = self.act(self.norm1(self.conv1(x), training=training))
        h = self.norm2(self.conv2(h), training=training)
        skip = self.shortcut(x) if self.shortcut is not None else x
        return self.act(h + skip)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        base = super().get_config()
        return {**base, "filters": self.filters, "kernel_size": self.kernel_size,
                "activation": self.activation, "l1": self.l1, "l2": self.l2}


@keras.saving.register_keras_serializable(package="layerlab")
class ResidualDenseBlock(keras.layers.Layer):
    """Normalise, widen, project back and add: a Dense pair that stays trainable when stacked."""

    def __init__(self, units: int = 64, activation: str = "relu", dropout: float = 0.1,
                 l1: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.norm = keras.layers.LayerNormalization(dtype=self.dtype_policy)
        self.inner = keras.layers.Dense(units, activation=activation, kernel_regularizer=_l1l2(l1, l2),
                                        dtype=self.dtype_policy)
        self.drop = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.outer = None

    def build(self, input_shape):
        self.norm.build(input_shape)
        self.inner.build(input_shape)
        self.outer = keras.layers.Dense(input_shape[-1], kernel_regularizer=_l1l2(self.l1, self.l2),
                                        dtype=self.dtype_policy)
        self.outer.build(tuple(input_shape[:-1]) + (self.units,))

    def call(self, x, training=None):
        h = self.drop(self.inner(self.norm(x)), training=training)
        return x + self.outer(h)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        base = super().get_config()
        return {**base, "units": self.units, "activation": self.activation, "dropout": self.dropout,
                "l1": self.l1, "l2": self.l2}


@keras.saving.register_keras_serializable(package="layerlab")
class TransformerEncoder(keras.layers.Layer):
    """Self-attention then a small feed-forward net, each with a residual add and layer norm.

    Every position looks at every other (or only earlier ones when `causal`), which is
    what lets transformers relate distant words or time steps.
    """

    def __init__(self, heads: int = 4, key_dim: int = 16, ff_dim: int = 128, dropout: float = 0.1,
                 causal: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.heads = heads
        self.key_dim = key_dim
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.causal = causal
        self.attention = keras.layers.MultiHeadAttention(heads, key_dim, dropout=dropout, dtype=self.dtype_policy)
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6, dtype=self.dtype_policy)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6, dtype=self.dtype_policy)
        self.ff1 = keras.layers.Dense(ff_dim, activation="relu", dtype=self.dtype_policy)
        self.ff2 = None
        self.drop1 = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.drop2 = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.supports_masking = True  # padding (from a masking embedding) is not attended to, and passes on

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.norm1.build(input_shape)
        self.ff1.build(input_shape)
        self.ff2 = keras.layers.Dense(input_shape[-1], dtype=self.dtype_policy)
        self.ff2.build(tuple(input_shape[:-1]) + (self.ff_dim,))
        self.norm2.build(input_shape)

    def call(self, x, training=None, mask=None):
        attention_mask = None if mask is None else keras.ops.expand_dims(keras.ops.cast(mask, "bool"), 1)
        a = self.attention(x, x, attention_mask=attention_mask, use_causal_mask=self.causal, training=training)
        x = self.norm1(x + self.drop1(a, training=training))
        f = self.ff2(self.ff1(x))
        return self.norm2(x + self.drop2(f, training=training))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        base = super().get_config()
        return {**base, "heads": self.heads, "key_dim": self.key_dim, "ff_dim": self.ff_dim,
                "dropout": self.dropout, "causal": self.causal}


@keras.saving.register_keras_serializable(package="layerlab")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """A vector per token plus a learned vector per position, so attention knows word order."""

    def __init__(self, vocab_size: int, sequence_length: int, embed_dim: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.sequence_length = sequence_length
        self.embed_dim = embed_dim
        self.tokens = keras.layers.Embedding(vocab_size, embed_dim, dtype=self.dtype_policy)
        self.positions = keras.layers.Embedding(sequence_length, embed_dim, dtype=self.dtype_policy)

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.positions.build((self.sequence_length,))

    def call(self, x):
        steps = keras.ops.arange(0, keras.ops.shape(x)[-1])
        return self.tokens(x) + self.positions(steps)

    def compute_mask(self, x, mask=None):
        # Token id 0 is padding: later layers (attention, pooling) skip it.
        return keras.ops.not_equal(x, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.embed_dim,)

    def get_config(self):
        base = super().get_config()
        return {**base, "vocab_size": self.vocab_size, "sequence_length": self.sequence_length,
                "embed_dim": self.embed_dim}


@keras.saving.register_keras_serializable(package="layerlab")
class PatchEmbedding(keras.layers.Layer):
    """Cuts an image into square patches, projects each to a vector and adds its position.

    Turns an image into a sequence, the input a Vision Transformer's encoders expect.
    """

    def __init__(self, patch_size: int = 4, embed_dim: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        self.project = keras.layers.Conv2D(embed_dim, patch_size, strides=patch_size, padding="valid",
                                           dtype=self.dtype_policy)
        self.n_patches = None
        self.position = None

    def build(self, input_shape):
        self.project.build(input_shape)
        self.n_patches = (input_shape[-3] // self.patch_size) * (input_shape[-2] // self.patch_size)
        self.position = self.add_weight(
            shape=(self.n_patches, self.embed_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="position",
        )

    def call(self, x):
        y = self.project(x)
        y = keras.ops.reshape(y, (-1, self.n_patches, self.embed_dim))
        return y + keras.ops.cast(self.position, y.dtype)

    def compute_output_shape(self, input_shape):
        n = (input_shape[-3] // self.patch_size) * (input_shape[-2] // self.patch_size)
        return (input_shape[0], n, self.embed_dim)

    def get_config(self):
        base = super().get_config()
        return {**base, "patch_size": self.patch_size, "embed_dim": self.embed_dim}


@keras.saving.register_keras_serializable(package="layerlab")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per step to a sequence: attention alone ignores order."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.position = None

    def build(self, input_shape):
        self.position = self.add_weight(
            shape=(input_shape[-2], input_shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="position",
        )

    def call(self, x):
        return x + keras.ops.cast(self.position, x.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="layerlab")
class Backbone(keras.layers.Layer):
    """A `keras.applications` network without its classifier, as one block.

    Takes images of any size with 1 or 3 channels, maps their pixel values to the range the
    network expects (`pixels * scale + offset`), resizes them to `image_size` and runs the
    network; with pretrained weights always with `training=False`, so its batch normalisation
    keeps ImageNet's statistics even when its layers are unfrozen for fine-tuning (Keras'
    transfer-learning guide).

    Args:
        architecture: the name of a `keras.applications` constructor, e.g. "MobileNetV3Small".
        image_size: the side of the square the network sees.
        scale, offset: pixel values times `scale` plus `offset` give what the network expects.
        weights: None (random), "imagenet" (Keras downloads them) or the path of a weights file.
            The config keeps only whether weights were pretrained: a model loaded from a `.keras`
            file takes its weights from that file, never from a download.
    """

    def __init__(self, architecture: str, image_size: int = 224, scale: float = 255.0, offset: float = 0.0,
                 weights: str | None = None, **kwargs):
        super().__init__(**kwargs)
        constructor = getattr(keras.applications, architecture, None)
        if constructor is None:
            raise ValueError(f"Invalid value received for argument `architecture`. Expected the name of a "
                             f"keras.applications model. Received: architecture={architecture!r}")
        self.architecture = architecture
        self.image_size = int(image_size)
        self.scale = float(scale)
        self.offset = float(offset)
        self.pretrained = "imagenet" if weights else None
        from_file = weights not in (None, "imagenet")
        self.network = constructor(include_top=False, weights=None if from_file else weights,
                                   input_shape=(self.image_size, self.image_size, 3))
        if from_file:
            self.network.load_weights(weights)
            if architecture.startswith("EfficientNet"):
                # Keras adds a Rescaling by 1/sqrt(ImageNet's std) after the first Normalization only for
                # weights="imagenet" (tensorflow#49930); multiplying that Normalization's variance by the
                # std does the same for weights from a file.
                norm = next(layer for layer in self.network.layers if isinstance(layer, keras.layers.Normalization))
                norm.adapt_variance.assign(norm.adapt_variance * keras.ops.convert_to_tensor([0.229, 0.224, 0.225]))
                norm.finalize_state()

    def build(self, input_shape):
        self.built = True  # the network was built with its fixed input size

    def call(self, images, training=None):
        x = keras.ops.cast(images, self.compute_dtype)
        if images.shape[-1] == 1:
            x = keras.ops.repeat(x, 3, axis=-1)
        x = x * self.scale + self.offset
        x = keras.ops.image.resize(x, (self.image_size, self.image_size), interpolation="bilinear")
        # Pretrained: batch norm keeps ImageNet's statistics; from scratch it learns them like any network.
        return self.network(x, training=False if self.pretrained else training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.network.output_shape[1:])

    def get_config(self):
        base = super().get_config()
        return {**base, "architecture": self.architecture, "image_size": self.image_size, "scale": self.scale,
                "offset": self.offset, "weights": self.pretrained}

    @classmethod
    def from_config(cls, config):
        block = cls(**{**config, "weights": None})  # the weights come with the saved model, not a download
        block.pretrained = config.get("weights")  # still pretrained: batch norm stays in inference mode
        return block


BLOCKS = (ResidualConvBlock, ResidualDenseBlock, TransformerEncoder, TokenAndPositionEmbedding,
          PatchEmbedding, PositionEmbedding, Backbone)
