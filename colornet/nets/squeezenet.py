"""SqueezeNet v1.0 (Iandola et al. 2016), ImageNet-trained, as Deep Compression stores it (Han et
al. 2016: pruned, 8-bit codebooks, 4-bit relative positions), and the trunk our colour nets build
on it. shared/spec/squeezenet.md has the format; this is our own reading of it.

- decode_packed: the packed file's bytes → {layer: (weights, bias)} in Caffe's shapes (pure numpy);
- grey_trunk: the same weights for a one-channel grey input (conv1 summed over B, G, R, with the
  per-channel means folded into its bias, exact since conv1 has no padding);
- write_caffemodel: a NetParameter holding just those blobs, which Caffe's `--weights` and
  OpenCV's dnn copy by layer name;
- squeezenet_trunk / classifier_deploy: the layers, for the generator (caffe.NetSpec).
"""
import numpy as np

# (name, input channels, squeeze, each expand) of fire2 … fire9, in the file's order.
FIRES = [("fire2", 96, 16, 64), ("fire3", 128, 16, 64), ("fire4", 128, 32, 128), ("fire5", 256, 32, 128),
         ("fire6", 256, 48, 192), ("fire7", 384, 48, 192), ("fire8", 384, 64, 256), ("fire9", 512, 64, 256)]
POOL_AFTER = ("conv1", "fire4", "fire8")   # max pooling 3×3, stride 2
CLASSES = 1000
# ImageNet's BGR mean, subtracted by the classifier; the grey trunk folds it into conv1's bias.
BGR_MEAN = (104.0, 117.0, 123.0)
# The grey trunk's input is Y − GREY_MEAN (a frozen Scale), conv1's bias carries the rest.
GREY_MEAN = 117.0
PACKED_SHA256 = "e4ab6960ae8cd81505e1c2136921201507e930966c53deaf15862a395b3a3261"
PACKED_SIZE = 675763
CODEBOOK = 256


class PackedFormatError(ValueError):
    """The bytes are not a Deep Compression SqueezeNet v1.0."""


def layer_shapes():
    """[(caffe layer name, weight shape)] in the packed file's order."""
    shapes = [("conv1", (96, 3, 7, 7))]
    for fire, inputs, squeeze, expand in FIRES:
        shapes += [(f"{fire}_squeeze1x1", (squeeze, inputs, 1, 1)),
                   (f"{fire}_expand1x1", (expand, squeeze, 1, 1)),
                   (f"{fire}_expand3x3", (expand, squeeze, 3, 3))]
    return shapes + [("conv10", (CLASSES, 512, 1, 1))]


def decode_packed(data):
    """Bytes of compressed_SqueezeNet.net → {name: (float32 weights, float32 bias)}."""
    shapes = layer_shapes()
    data = memoryview(data)
    header = 4 * len(shapes)
    if len(data) < header:
        raise PackedFormatError(f"{len(data)} bytes: shorter than the {header}-byte header")
    stored = np.frombuffer(data[:header], "<u4")
    position, layers = header, {}
    for (name, shape), count in zip(shapes, stored):
        size, outputs = int(np.prod(shape)), shape[0]
        need = 4 * CODEBOOK + 4 * outputs + count + (count + 1) // 2
        if position + need > len(data) or count > size:
            raise PackedFormatError(f"{name}: the file ends inside its {count} stored weights")
        codebook = np.frombuffer(data[position:position + 4 * CODEBOOK], "<f4")
        position += 4 * CODEBOOK
        bias = np.frombuffer(data[position:position + 4 * outputs], "<f4").copy()
        position += 4 * outputs
        codes = np.frombuffer(data[position:position + count], np.uint8)
        position += count
        nibbles = np.frombuffer(data[position:position + (count + 1) // 2], np.uint8)
        position += (count + 1) // 2
        steps = np.empty(2 * nibbles.size, np.int64)
        steps[0::2], steps[1::2] = nibbles & 0x0F, nibbles >> 4
        places = np.cumsum(steps[:count] + 1) - 1
        if count and places[-1] >= size:
            raise PackedFormatError(f"{name}: a stored weight falls outside its {size} positions")
        weights = np.zeros(size, np.float32)
        weights[places] = codebook[codes]
        layers[name] = (weights.reshape(shape), bias)
    if position != len(data):
        raise PackedFormatError(f"{len(data) - position} bytes left after the last layer")
    return layers


def grey_trunk(layers):
    """The layers for one grey input channel fed Y − GREY_MEAN: conv1(Y replicated − BGR mean) =
    Σ_c W_c ∗ (Y − GREY_MEAN) + b − Σ_c W_c·(mean_c − GREY_MEAN), summed over each kernel."""
    weights, bias = layers["conv1"]
    offsets = np.array(BGR_MEAN, np.float32) - GREY_MEAN
    folded = bias - np.einsum("ochw,c->o", weights, offsets)
    grey = dict(layers)
    grey["conv1"] = (weights.sum(axis=1, keepdims=True), folded.astype(np.float32))
    return grey


def write_caffemodel(layers, path, names=None):
    """A .caffemodel with the given layers' blobs (weights, bias), by name; ``names`` limits them."""
    from caffe.proto import caffe_pb2
    net = caffe_pb2.NetParameter(name="squeezenet_v1.0_deep_compression")
    for name, (weights, bias) in layers.items():
        if names is not None and name not in names:
            continue
        layer = net.layer.add(name=name, type="Convolution")
        for blob in (weights, bias):
            proto = layer.blobs.add()
            proto.shape.dim.extend(blob.shape)
            proto.data.extend(blob.astype(np.float32).ravel().tolist())
    with open(path, "wb") as handle:
        handle.write(net.SerializeToString())


def fire(L, ns, bottom, name, squeeze, expand, frozen=None):
    """A fire module: 1×1 squeeze, then 1×1 and 3×3 expands concatenated; frozen: lr_mult 0."""
    param = dict(param=frozen) if frozen else {}
    filler = dict(weight_filler=dict(type="xavier"), bias_filler=dict(type="constant", value=0))
    squeezed = L.Convolution(bottom, num_output=squeeze, kernel_size=1, **filler, **param)
    setattr(ns, f"{name}_squeeze1x1", squeezed)
    setattr(ns, f"{name}_relu_squeeze1x1", L.ReLU(squeezed, in_place=True))
    left = L.Convolution(squeezed, num_output=expand, kernel_size=1, **filler, **param)
    setattr(ns, f"{name}_expand1x1", left)
    setattr(ns, f"{name}_relu_expand1x1", L.ReLU(left, in_place=True))
    right = L.Convolution(squeezed, num_output=expand, kernel_size=3, pad=1, **filler, **param)
    setattr(ns, f"{name}_expand3x3", right)
    setattr(ns, f"{name}_relu_expand3x3", L.ReLU(right, in_place=True))
    top = L.Concat(left, right)
    setattr(ns, f"{name}_concat", top)
    return top


def squeezenet_trunk(L, P, ns, bottom, conv1_pad=0, frozen=None):
    """conv1 … fire9 with the pretrained names; returns {layer name: top} of the input ("centred"), conv1, pool1 and each fire.

    conv1_pad 4 puts the fire3 cells' centres on every 4th input pixel (0, 4, 8, …; see
    colornet/nets/squeeze.py), which the colour head's alignment relies on.
    """
    param = dict(param=frozen) if frozen else {}
    ns.conv1 = L.Convolution(bottom, num_output=96, kernel_size=7, stride=2, pad=conv1_pad,
                             weight_filler=dict(type="xavier"), bias_filler=dict(type="constant", value=0),
                             **param)
    ns.relu_conv1 = L.ReLU(ns.conv1, in_place=True)
    top = ns.pool1 = L.Pooling(ns.conv1, pool=P.Pooling.MAX, kernel_size=3, stride=2)
    tops = {"centred": bottom, "conv1": ns.conv1, "pool1": ns.pool1}
    for name, _, squeeze, expand in FIRES:
        top = tops[name] = fire(L, ns, top, name, squeeze, expand, frozen)
        if name in POOL_AFTER:
            top = L.Pooling(top, pool=P.Pooling.MAX, kernel_size=3, stride=2)
            setattr(ns, f"pool{name[-1]}", top)
    return tops


def classifier_deploy():
    """The ImageNet classifier (BGR 227×227 minus BGR_MEAN in; prob: 1,000 classes), used to check
    the decoded weights. The original's conv_final had pad 1 on a 1×1 kernel; ours has none."""
    from colornet.nets.common import caffe_modules
    caffe, L, P = caffe_modules()
    ns = caffe.NetSpec()
    ns.data = L.Input(shape=dict(dim=[1, 3, 227, 227]))
    tops = squeezenet_trunk(L, P, ns, ns.data)
    ns.conv10 = L.Convolution(tops["fire9"], num_output=CLASSES, kernel_size=1)
    ns.relu_conv10 = L.ReLU(ns.conv10, in_place=True)
    ns.pool10 = L.Pooling(ns.conv10, pool=P.Pooling.AVE, global_pooling=True)
    ns.prob = L.Softmax(ns.pool10)
    return f'name: "squeezenet_v1.0_deploy"\n{ns.to_proto()}'
