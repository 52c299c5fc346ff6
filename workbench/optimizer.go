package workbench

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// Optimizer is one optimiser: its YAML name, its usual rate for learnrate 1 per
// parameterisation, the state it keeps and its update.
//
// The update is written into the step graph rather than taken from GoMLX's optimizers because
// the image's parameters are explicit graph inputs and outputs (so a run's state is a few
// tensors that save and resume exactly), not variables of a GoMLX optimizer.
type Optimizer struct {
	// Name is the YAML name.
	Name string
	// Learnrate is the usual rate for learnrate 1, by parameterisation kind.
	Learnrate map[string]float64
	// Moments name the state the update keeps, each a tensor of the parameters' shape that
	// starts at zero; the names are the tensors' in a run's state file.
	Moments []string
	// Update returns the new parameters and moments (in the order of Moments) from the
	// parameters, the gradient, the rate, the 1-based step count and the moments.
	Update func(params, grad, lr, count *Node, moments []*Node) (*Node, []*Node)
}

// Optimizers are the optimisers an experiment can name; the first is the default. Each but sgd
// is torch's (testdata/optimizers.py checks them against it).
var Optimizers = []Optimizer{
	{Name: "adam", Learnrate: map[string]float64{ParamPixels: 0.01, ParamFFT: 0.05}, Moments: []string{"m", "v"}, Update: adam},
	{Name: "rmsprop", Learnrate: map[string]float64{ParamPixels: 0.01, ParamFFT: 0.02}, Moments: []string{"v"}, Update: rmsprop},
	{Name: "sgd", Learnrate: map[string]float64{ParamPixels: 0.02, ParamFFT: 0.05}, Update: normalizedSGD},
	// CLIPig's other names, at CLIPig's base rates for pixels: its adadelta, its spelling
	// rmsprob (centred, with momentum 0.1), and sparse_adam, which CLIPig runs as RMSprop. The
	// Fourier rates keep the ratios to adam.
	{Name: "adadelta", Learnrate: map[string]float64{ParamPixels: 20, ParamFFT: 100}, Moments: []string{"m", "v"}, Update: adadelta},
	{Name: "rmsprob", Learnrate: map[string]float64{ParamPixels: 0.003, ParamFFT: 0.015},
		Moments: []string{"v", "mean", "momentum"}, Update: centredRMSprop},
	{Name: "sparse_adam", Learnrate: map[string]float64{ParamPixels: 0.01, ParamFFT: 0.02}, Moments: []string{"v"}, Update: rmsprop},
}

// OptimizerNames lists the optimisers' names.
func OptimizerNames() []string {
	return keys(Optimizers, func(k *Optimizer) string { return k.Name })
}

// LookupOptimizer returns an optimiser by name.
func LookupOptimizer(name string) (*Optimizer, bool) {
	return lookup(Optimizers, name, func(k *Optimizer) string { return k.Name })
}

// adam is torch's Adam (betas 0.9 and 0.999, eps 1e-8) with moments m and v.
func adam(params, grad, lr, count *Node, moments []*Node) (*Node, []*Node) {
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	m := Add(MulScalar(moments[0], beta1), MulScalar(grad, 1-beta1))
	v := Add(MulScalar(moments[1], beta2), MulScalar(Square(grad), 1-beta2))
	g := params.Graph()
	correct1 := OneMinus(Pow(float32Scalar(g, beta1), count))
	correct2 := OneMinus(Pow(float32Scalar(g, beta2), count))
	step := Div(Div(m, correct1), AddScalar(Sqrt(Div(v, correct2)), eps))
	return Sub(params, Mul(lr, step)), []*Node{m, v}
}

// rmsAlpha is torch's RMSprop's smoothing constant.
const rmsAlpha = 0.99

// rmsprop is torch's RMSprop (alpha 0.99, eps 1e-8), its squared gradients' average v.
func rmsprop(params, grad, lr, _ *Node, moments []*Node) (*Node, []*Node) {
	v := Add(MulScalar(moments[0], rmsAlpha), MulScalar(Square(grad), 1-rmsAlpha))
	return Sub(params, Mul(lr, Div(grad, AddScalar(Sqrt(v), 1e-8)))), []*Node{v}
}

// centredRMSprop is torch's RMSprop as CLIPig's rmsprob sets it, centered and with momentum 0.1:
// the gradient divided by its deviation (from the averages of the squared gradients, v, and of
// the gradients, mean), accumulated in a momentum buffer.
func centredRMSprop(params, grad, lr, _ *Node, moments []*Node) (*Node, []*Node) {
	const momentum = 0.1
	v := Add(MulScalar(moments[0], rmsAlpha), MulScalar(Square(grad), 1-rmsAlpha))
	mean := Add(MulScalar(moments[1], rmsAlpha), MulScalar(grad, 1-rmsAlpha))
	deviation := AddScalar(Sqrt(MaxScalar(Sub(v, Square(mean)), 0)), 1e-8) // rounding can make it negative
	buffer := Add(MulScalar(moments[2], momentum), Div(grad, deviation))
	return Sub(params, Mul(lr, buffer)), []*Node{v, mean, buffer}
}

// normalizedSGD divides the gradient by its root mean square: plain SGD's step size would
// depend on the model's gradient scale, and this makes learnrate a step size in pixel units.
func normalizedSGD(params, grad, lr, _ *Node, _ []*Node) (*Node, []*Node) {
	rms := Sqrt(AddScalar(ReduceAllMean(Square(grad)), 1e-20))
	return Sub(params, Mul(lr, Div(grad, rms))), nil
}

// adadelta is torch's Adadelta (rho 0.9, eps 1e-6): v averages the squared gradients, m the
// squared updates.
func adadelta(params, grad, lr, _ *Node, moments []*Node) (*Node, []*Node) {
	const rho, eps = 0.9, 1e-6
	m, v := moments[0], moments[1]
	v = Add(MulScalar(v, rho), MulScalar(Square(grad), 1-rho))
	delta := Mul(Div(Sqrt(AddScalar(m, eps)), Sqrt(AddScalar(v, eps))), grad)
	m = Add(MulScalar(m, rho), MulScalar(Square(delta), 1-rho))
	return Sub(params, Mul(lr, delta)), []*Node{m, v}
}
