package clipmodel

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
)

// activations maps HuggingFace's hidden_act names to graph functions.
var activations = map[string]func(*Node) *Node{
	"quick_gelu": func(x *Node) *Node { return Mul(x, Sigmoid(MulScalar(x, 1.702))) },
	"gelu":       func(x *Node) *Node { return activation.Gelu(x) },
	"gelu_new":   func(x *Node) *Node { return activation.GeluApproximate(x) },
}

func float32Shape(dims []int) shapes.Shape {
	return shapes.Make(dtypes.Float32, dims...)
}

// storeOnBackend adds a weight to store and hands it over to backend at once, freeing its host
// copy where the backend shares host memory (the Go backend): otherwise the first graph run
// copies each weight into a buffer of its own and the process holds every weight twice.
func storeOnBackend(store *model.Store, backend compute.Backend, name string, value *tensors.Tensor) error {
	if err := value.ToDevice(backend, 0); err != nil {
		return fmt.Errorf("weight %s: %w", name, err)
	}
	_, err := store.CreateVariable(VariablePath(name), value)
	return err
}

// towerWeights reads a tower's weights in scope into graph g, always as parameters. Outside
// training mode GoMLX folds them into the graph as constants on backends that prefer it (the Go
// backend), which copies every weight into the graph (and packs it again for the matrix
// products); as parameters the graph uses the store's buffers. Measured on ViT-B/32 at 8
// windows: peak memory 2.7 GB instead of 3.2 GB and steps 8% faster (bench/README.md). A graph
// already in training mode (as trainers set it) trains the weights.
func towerWeights(scope *model.Scope, g *Graph) weights {
	trained := scope.IsTraining(g)
	scope.SetTraining(g, true)
	return weights{scope: scope, g: g, trained: trained}
}

// weights reads the model's variables under one dotted prefix of checkpoint names.
type weights struct {
	scope *model.Scope
	g     *Graph
	// trained says the graph computes the weights' gradients.
	trained bool
}

// at descends into a dotted sub-path, e.g. "encoder.layers.3".
func (w weights) at(path string) weights {
	s := w.scope
	for _, part := range strings.Split(path, ".") {
		s = s.At("%s", part)
	}
	return weights{s, w.g, w.trained}
}

// get returns the weight name under the current path as a graph node. Every model's store holds
// all its weights (loaded, or drawn by RandomWeights before training from scratch): a weight
// the graph asks for and the store lacks is a bug, never a weight to invent.
func (w weights) get(name string, dims ...int) *Node {
	v := w.scope.GetVariable(name)
	if v == nil {
		panic(fmt.Errorf("the model has no weight %s/%s", w.scope.Scope(), name))
	}
	if want := float32Shape(dims); !v.Shape().Equal(want) {
		panic(fmt.Errorf("weight %s is %s, the model's graph needs %s", v.Path(), v.Shape(), want))
	}
	return v.NodeValue(w.g)
}

// linear is the checkpoint's linear layer under w: weight [out, in] and optionally bias [out].
func (w weights) linear(x *Node, out int, bias bool) *Node {
	in := x.Shape().Dim(-1)
	var b *Node
	if bias {
		b = w.get("bias", out)
	}
	return w.affine(x, w.get("weight", out, in), b)
}

// affine is x times weight [out, in] transposed, plus bias when there is one.
func (w weights) affine(x, weight, bias *Node) *Node {
	if w.trained {
		return nn.Dense(x, weight, bias, compute.DenseLayoutOutputsInput)
	}
	return frozenDense(x, weight, bias)
}

// frozenDense is x times weight [out, in] transposed, plus bias when there is one, for weights
// that are not trained: a plain matrix product rather than GoMLX's fused Dense, whose backward
// pass computes the weight's gradient whether or not anything asks for it. Image optimisation
// needs only the pixels' gradient: with the plain product autodiff skips the weights' (ViT-B/32,
// 8 windows: steps 20% faster, peak memory 0.5 GB lower; bench/README.md). Training keeps the
// fused Dense, which computes both gradients in one op (the default model's steps 1.5x faster).
func frozenDense(x, weight, bias *Node) *Node {
	y := Dot(x, weight).General([]int{x.Rank() - 1}, nil, []int{1}, nil)
	if bias != nil {
		y = Add(y, ExpandLeftToRank(bias, y.Rank()))
	}
	return y
}

func (w weights) layerNorm(x *Node, eps float64) *Node {
	d := x.Shape().Dim(-1)
	return nn.LayerNorm(x, []int{-1}, eps, w.get("weight", d), w.get("bias", d), nil)
}

// encoderSpec is what the shared transformer encoder needs to know about a tower.
type encoderSpec struct {
	layers, heads, mlp int
	eps                float64
	act                func(*Node) *Node
	causal             bool
}

// encoder runs the pre-LN transformer blocks of a tower over x [batch, tokens, width].
func (w weights) encoder(x *Node, spec encoderSpec) *Node {
	for i := range spec.layers {
		layer := w.at(fmt.Sprintf("encoder.layers.%d", i))
		h := layer.at("layer_norm1").layerNorm(x, spec.eps)
		x = Add(x, layer.at("self_attn").attention(h, spec.heads, spec.causal))
		h = layer.at("layer_norm2").layerNorm(x, spec.eps)
		h = spec.act(layer.at("mlp.fc1").linear(h, spec.mlp, true))
		x = Add(x, layer.at("mlp.fc2").linear(h, x.Shape().Dim(-1), true))
	}
	return x
}

// attention is multi-head self-attention, the query, key and value projections under w.
func (w weights) attention(x *Node, heads int, causal bool) *Node {
	width := x.Shape().Dim(-1)
	var mask *Node
	if causal {
		tokens := x.Shape().Dim(1)
		mask = Reshape(LowerTriangular(x.Graph(), tokens), 1, 1, tokens, tokens)
	}
	out := multiHeadAttention(w.at("q_proj").linear(x, width, true), w.at("k_proj").linear(x, width, true),
		w.at("v_proj").linear(x, width, true), heads, mask)
	return w.at("out_proj").linear(out, width, true)
}

// multiHeadAttention attends projected queries q [batch, queries, width] to keys and values
// k, v [batch, tokens, width] in heads heads, where mask (nil: none) [1, 1, queries, tokens]
// allows it, and returns [batch, queries, width]. It is written as two einsums, which the Go
// backend runs faster than the fused attention.Core.
func multiHeadAttention(q, k, v *Node, heads int, mask *Node) *Node {
	batch, queries, width := q.Shape().Dim(0), q.Shape().Dim(1), q.Shape().Dim(2)
	tokens, headDim := k.Shape().Dim(1), width/heads
	q = Reshape(MulScalar(q, 1/math.Sqrt(float64(headDim))), batch, queries, heads, headDim)
	k = Reshape(k, batch, tokens, heads, headDim)
	v = Reshape(v, batch, tokens, heads, headDim)
	scores := Einsum("bqhd,bkhd->bhqk", q, k)
	var probs *Node
	if mask != nil {
		probs = MaskedSoftmax(scores, mask, -1)
	} else {
		probs = Softmax(scores, -1)
	}
	return Reshape(Einsum("bhqk,bkhd->bqhd", probs, v), batch, queries, width)
}

// ChannelsLike is c, three values (one per channel), broadcast whole to x's shape [..., 3], for
// arithmetic with x. The Go backend's kernel for rows of 3 values reads 16 floats at each row
// and faults where the last row ends a mapped page; a whole broadcast keeps operations off it,
// and broadcasting from rank 1 keeps the backend's implicit-broadcast pass from handing the
// operation an equal-rank broadcast ([1, 1, 1, 3]) unbroadcast.
func ChannelsLike(x, c *Node) *Node {
	dims := x.Shape().Dimensions
	return BroadcastPrefix(Reshape(c, 3), dims[:len(dims)-1]...)
}

// ImageFeatures is the vision tower as a graph function: pixels [batch, size, size, 3] are RGB
// in [0, 1] at the model's image size; the result [batch, projection_dim] is the projected,
// unnormalised image embedding (HuggingFace's get_image_features). The normalisation with the
// checkpoint's mean and std happens inside, so callers differentiate with respect to plain pixels.
// scope is where the checkpoint's variables live (Model.Scope).
func (m *Model) ImageFeatures(scope *model.Scope, pixels *Node) *Node {
	v := m.Config.Vision
	if s := pixels.Shape(); s.Rank() != 4 || s.Dim(1) != v.ImageSize || s.Dim(2) != v.ImageSize || s.Dim(3) != 3 {
		panic(fmt.Errorf("ImageFeatures needs pixels [batch, %d, %d, 3], got %s", v.ImageSize, v.ImageSize, s))
	}
	g := pixels.Graph()
	tower := towerWeights(scope, g)
	mean := ChannelsLike(pixels, Const(g, toFloat32s(m.Preprocess.Mean)))
	std := ChannelsLike(pixels, Const(g, toFloat32s(m.Preprocess.Std)))
	x := Div(Sub(pixels, mean), std)
	if v.IsResNet() {
		return resnetFeatures(tower, x, v, m.Config.ProjectionDim)
	}

	w := tower.at("vision_model")
	batch, p, grid := pixels.Shape().Dim(0), v.PatchSize, v.ImageSize/v.PatchSize
	if grid*p != v.ImageSize { // The stride-p convolution leaves the right and bottom remainder out.
		x = Slice(x, AxisRange(), AxisRange(0, grid*p), AxisRange(0, grid*p))
	}
	// Non-overlapping patches make the stride-p convolution a matrix product.
	x = Reshape(x, batch, grid, p, grid, p, 3)
	x = TransposeAllDims(x, 0, 1, 3, 5, 2, 4) // [batch, gy, gx, channel, py, px], the kernel's order
	x = Reshape(x, batch, grid*grid, 3*p*p)
	kernel := Reshape(w.at("embeddings.patch_embedding").get("weight", v.HiddenSize, 3, p, p), v.HiddenSize, 3*p*p)
	x = w.affine(x, kernel, nil)

	class := BroadcastPrefix(w.at("embeddings").get("class_embedding", v.HiddenSize), batch, 1)
	x = Concatenate([]*Node{class, x}, 1)
	x = Add(x, InsertAxes(w.at("embeddings.position_embedding").get("weight", v.NumPatches()+1, v.HiddenSize), 0))
	x = w.at("pre_layrnorm").layerNorm(x, v.LayerNormEps)
	x = w.encoder(x, encoderSpec{v.NumHiddenLayers, v.NumAttentionHeads, v.IntermediateSize, v.LayerNormEps,
		activations[v.HiddenAct], false})
	pooled := Squeeze(Slice(x, AxisRange(), AxisRange(0, 1)), 1)
	pooled = w.at("post_layernorm").layerNorm(pooled, v.LayerNormEps)
	return tower.at("visual_projection").linear(pooled, m.Config.ProjectionDim, false)
}

// TextFeatures is the text tower as a graph function: tokens [batch, length] int32 (padded, at
// most max_position_embeddings long) and pool [batch] int32, the position to pool at (see
// TextConfig.PoolIndex); the result [batch, projection_dim] is the projected, unnormalised text
// embedding (HuggingFace's get_text_features).
func (m *Model) TextFeatures(scope *model.Scope, tokens, pool *Node) *Node {
	t := m.Config.Text
	batch, length := tokens.Shape().Dim(0), tokens.Shape().Dim(1)
	g := tokens.Graph()
	tower := towerWeights(scope, g)
	w := tower.at("text_model")
	table := w.at("embeddings.token_embedding").get("weight", t.VocabSize, t.HiddenSize)
	x := Gather(table, InsertAxes(tokens, -1))
	positions := w.at("embeddings.position_embedding").get("weight", t.MaxPositionEmbeddings, t.HiddenSize)
	x = Add(x, InsertAxes(Slice(positions, AxisRange(0, length)), 0))
	x = w.encoder(x, encoderSpec{t.NumHiddenLayers, t.NumAttentionHeads, t.IntermediateSize, t.LayerNormEps,
		activations[t.HiddenAct], true})
	x = w.at("final_layer_norm").layerNorm(x, t.LayerNormEps)
	rows := Iota(g, shapes.Make(dtypes.Int32, batch, 1), 0)
	pooled := Gather(x, Concatenate([]*Node{rows, InsertAxes(ConvertDType(pool, dtypes.Int32), -1)}, 1))
	return tower.at("text_projection").linear(pooled, m.Config.ProjectionDim, false)
}

func toFloat32s(values []float64) []float32 {
	out := make([]float32, len(values))
	for i, v := range values {
		out[i] = float32(v)
	}
	return out
}
