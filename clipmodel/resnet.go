package clipmodel

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// OpenAI's ModifiedResNet vision tower: a stem of three 3x3 convolutions and an average pool,
// four stages of Bottleneck blocks (stride as an average pool before the third convolution, an
// average-pool downsample branch), batch norm in inference mode and an attention pool with a
// learned positional embedding. Its weights keep OpenAI's names under "visual." (there is no
// HuggingFace layout for it), e.g. visual.layer1.0.conv1.weight.

// batchNormEps is PyTorch's BatchNorm2d default, which OpenAI's ResNets use.
const batchNormEps = 1e-5

// IsResNet tells whether the vision tower is a ModifiedResNet rather than a ViT.
func (v VisionConfig) IsResNet() bool {
	return len(v.ResNetLayers) > 0
}

// ResNetEmbedWidth is the channel count of the last stage, the attention pool's width.
func (v VisionConfig) ResNetEmbedWidth() int {
	return v.HiddenSize * 32
}

// resnetGrid is the side of the last stage's feature map: the tower divides the input by 32.
func (v VisionConfig) resnetGrid() int {
	return v.ImageSize / 32
}

func (v VisionConfig) validateResNet() error {
	if len(v.ResNetLayers) != 4 {
		return fmt.Errorf("vision_config.resnet_layers must list four stages, got %v", v.ResNetLayers)
	}
	for _, n := range v.ResNetLayers {
		if n <= 0 {
			return fmt.Errorf("vision_config.resnet_layers must be positive, got %v", v.ResNetLayers)
		}
	}
	switch {
	case v.HiddenSize <= 0 || v.HiddenSize%2 != 0:
		return fmt.Errorf("vision_config.hidden_size (the ResNet's stem width) must be positive and even, got %d", v.HiddenSize)
	case v.ImageSize <= 0 || v.ImageSize%32 != 0:
		return fmt.Errorf("vision_config.image_size must be a positive multiple of 32 for a ResNet, got %d", v.ImageSize)
	case v.NumAttentionHeads <= 0 || v.ResNetEmbedWidth()%v.NumAttentionHeads != 0:
		return fmt.Errorf("vision_config.num_attention_heads %d must divide the attention pool's width %d",
			v.NumAttentionHeads, v.ResNetEmbedWidth())
	case v.NumChannels != 3:
		return fmt.Errorf("vision_config.num_channels is %d; clipwork works on RGB images (3)", v.NumChannels)
	}
	return nil
}

// resnetBlock is one Bottleneck block: its name, channel counts and stride.
type resnetBlock struct {
	prefix                string
	inplanes, planes      int
	stride                int
	hasDownsampleBranches bool
}

// resnetBlocks lists the Bottleneck blocks in order, as OpenAI's _make_layer builds them.
func (v VisionConfig) resnetBlocks() []resnetBlock {
	var blocks []resnetBlock
	inplanes := v.HiddenSize
	for stage, count := range v.ResNetLayers {
		planes := v.HiddenSize << stage
		for i := range count {
			stride := 1
			if i == 0 && stage > 0 {
				stride = 2
			}
			blocks = append(blocks, resnetBlock{fmt.Sprintf("visual.layer%d.%d", stage+1, i), inplanes, planes, stride,
				stride > 1 || inplanes != planes*4})
			inplanes = planes * 4
		}
	}
	return blocks
}

func convSpec(name string, out, in, k int) TensorSpec {
	return TensorSpec{name + ".weight", []int{out, in, k, k}}
}

func batchNormSpecs(prefix string, c int) []TensorSpec {
	return []TensorSpec{{prefix + ".weight", []int{c}}, {prefix + ".bias", []int{c}},
		{prefix + ".running_mean", []int{c}}, {prefix + ".running_var", []int{c}}}
}

// resnetSpecs lists the ResNet vision tower's weights with OpenAI's names.
func (c *Config) resnetSpecs() []TensorSpec {
	v := c.Vision
	w := v.HiddenSize
	specs := []TensorSpec{convSpec("visual.conv1", w/2, 3, 3)}
	specs = append(specs, batchNormSpecs("visual.bn1", w/2)...)
	specs = append(specs, convSpec("visual.conv2", w/2, w/2, 3))
	specs = append(specs, batchNormSpecs("visual.bn2", w/2)...)
	specs = append(specs, convSpec("visual.conv3", w, w/2, 3))
	specs = append(specs, batchNormSpecs("visual.bn3", w)...)
	for _, b := range v.resnetBlocks() {
		specs = append(specs, convSpec(b.prefix+".conv1", b.planes, b.inplanes, 1))
		specs = append(specs, batchNormSpecs(b.prefix+".bn1", b.planes)...)
		specs = append(specs, convSpec(b.prefix+".conv2", b.planes, b.planes, 3))
		specs = append(specs, batchNormSpecs(b.prefix+".bn2", b.planes)...)
		specs = append(specs, convSpec(b.prefix+".conv3", b.planes*4, b.planes, 1))
		specs = append(specs, batchNormSpecs(b.prefix+".bn3", b.planes*4)...)
		if b.hasDownsampleBranches {
			specs = append(specs, convSpec(b.prefix+".downsample.0", b.planes*4, b.inplanes, 1))
			specs = append(specs, batchNormSpecs(b.prefix+".downsample.1", b.planes*4)...)
		}
	}
	e, grid := v.ResNetEmbedWidth(), v.resnetGrid()
	specs = append(specs, TensorSpec{"visual.attnpool.positional_embedding", []int{grid*grid + 1, e}})
	for _, proj := range []string{"q_proj", "k_proj", "v_proj"} {
		specs = append(specs, linearSpecs("visual.attnpool."+proj, e, e)...)
	}
	return append(specs, linearSpecs("visual.attnpool.c_proj", c.ProjectionDim, e)...)
}

// conv is a bias-free convolution of x [batch, h, w, in] with a PyTorch kernel
// [out, in, k, k], padded by k/2 on each side, written as a matrix product: the k*k shifted
// (and strided) views of the padded input side by side on the channel axis, times the kernel
// as [out, k*k*in]. The Go backend runs matrix products on its SIMD kernels, while its
// ConvGeneral (and the convolutions of the gradient) are scalar loops.
func (w weights) conv(x *Node, out, k, stride int) *Node {
	in := x.Shape().Dim(-1)
	kernel := w.get("weight", out, in, k, k)
	if k > 1 {
		x = shiftedViews(x, k, stride)
	}
	kernel = Reshape(TransposeAllDims(kernel, 0, 2, 3, 1), out, k*k*in) // [out, dy, dx, in]
	return w.affine(x, kernel, nil)
}

// shiftedViews pads x [batch, h, w, c] by k/2 and concatenates, for each kernel offset (dy, dx)
// in row-major order, the view of the padded input that the offset multiplies, sampled every
// stride pixels: [batch, h', w', k*k*c], with h' = (h + 2*(k/2) - k)/stride + 1.
func shiftedViews(x *Node, k, stride int) *Node {
	p := k / 2
	h, wd := x.Shape().Dim(1), x.Shape().Dim(2)
	x = Pad(x, ScalarZero(x.Graph(), x.DType()), compute.PadAxis{}, compute.PadAxis{Start: p, End: p},
		compute.PadAxis{Start: p, End: p}, compute.PadAxis{})
	outH, outW := (h+2*p-k)/stride+1, (wd+2*p-k)/stride+1
	views := make([]*Node, 0, k*k)
	for dy := range k {
		for dx := range k {
			views = append(views, Slice(x, AxisRange(),
				AxisRange(dy, dy+stride*(outH-1)+1).Stride(stride),
				AxisRange(dx, dx+stride*(outW-1)+1).Stride(stride), AxisRange()))
		}
	}
	return Concatenate(views, -1)
}

// batchNorm applies batch norm in inference mode with the stored running statistics.
func (w weights) batchNorm(x *Node) *Node {
	c := x.Shape().Dim(-1)
	scale := Div(w.get("weight", c), Sqrt(AddScalar(w.get("running_var", c), batchNormEps)))
	shift := Sub(w.get("bias", c), Mul(w.get("running_mean", c), scale))
	return Add(Mul(x, Reshape(scale, 1, 1, 1, c)), Reshape(shift, 1, 1, 1, c))
}

// avgPool is a non-overlapping average pool of x [batch, h, w, c] over n x n squares.
func avgPool(x *Node, n int) *Node {
	b, h, wd, c := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2), x.Shape().Dim(3)
	if h%n != 0 || wd%n != 0 {
		panic(fmt.Errorf("average pool of %dx%d over %dx%d squares: the sides must divide", h, wd, n, n))
	}
	return ReduceMean(Reshape(x, b, h/n, n, wd/n, n, c), 2, 4)
}

// bottleneck runs one Bottleneck block.
func (w weights) bottleneck(x *Node, b resnetBlock) *Node {
	out := activation.Relu(w.at("bn1").batchNorm(w.at("conv1").conv(x, b.planes, 1, 1)))
	out = activation.Relu(w.at("bn2").batchNorm(w.at("conv2").conv(out, b.planes, 3, 1)))
	if b.stride > 1 {
		out = avgPool(out, b.stride)
	}
	out = w.at("bn3").batchNorm(w.at("conv3").conv(out, b.planes*4, 1, 1))
	identity := x
	if b.hasDownsampleBranches {
		if b.stride > 1 {
			identity = avgPool(identity, b.stride)
		}
		identity = w.at("downsample.1").batchNorm(w.at("downsample.0").conv(identity, b.planes*4, 1, 1))
	}
	return activation.Relu(Add(out, identity))
}

// resnetFeatures is the ResNet vision tower on normalised pixels x [batch, size, size, 3]; root
// is at the model's root scope. It returns the attention pool's projection [batch, projection].
func resnetFeatures(root weights, x *Node, v VisionConfig, projection int) *Node {
	w, width := root.at("visual"), v.HiddenSize
	x = activation.Relu(w.at("bn1").batchNorm(w.at("conv1").conv(x, width/2, 3, 2)))
	x = activation.Relu(w.at("bn2").batchNorm(w.at("conv2").conv(x, width/2, 3, 1)))
	x = activation.Relu(w.at("bn3").batchNorm(w.at("conv3").conv(x, width, 3, 1)))
	x = avgPool(x, 2)
	for _, b := range v.resnetBlocks() {
		x = root.at(b.prefix).bottleneck(x, b)
	}
	return w.at("attnpool").attentionPool(x, v.NumAttentionHeads, projection)
}

// attentionPool is OpenAI's AttentionPool2d: the mean of the feature map, prepended to its
// positions, attends to all of them with a learned positional embedding; the attended mean,
// projected by c_proj, is the image embedding.
func (w weights) attentionPool(x *Node, heads, projection int) *Node {
	b, h, wd, e := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2), x.Shape().Dim(3)
	tokens := h*wd + 1
	x = Reshape(x, b, h*wd, e)
	x = Concatenate([]*Node{ReduceAndKeep(x, ReduceMean, 1), x}, 1)
	x = Add(x, InsertAxes(w.get("positional_embedding", tokens, e), 0))
	query := Slice(x, AxisRange(), AxisRange(0, 1))
	out := Reshape(multiHeadAttention(w.at("q_proj").linear(query, e, true), w.at("k_proj").linear(x, e, true),
		w.at("v_proj").linear(x, e, true), heads, nil), b, e)
	return w.at("c_proj").linear(out, projection, true)
}
