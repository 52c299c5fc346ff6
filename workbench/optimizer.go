package workbench

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// Optimizer is one optimiser: its YAML name, its usual rate for learnrate 1 per
// parameterisation, and its update.
//
// The update is written into the step graph rather than taken from GoMLX's optimizers because
// the image's parameters are explicit graph inputs and outputs (so a run's state is three
// tensors that save and resume exactly), not variables of a GoMLX optimizer.
type Optimizer struct {
	// Name is the YAML name.
	Name string
	// Learnrate is the usual rate for learnrate 1, by parameterisation kind.
	Learnrate map[string]float64
	// Update returns the new parameters and moments from the gradient, the rate and the
	// 1-based step count.
	Update func(params, grad, m, v, lr, count *Node) (newParams, newM, newV *Node)
}

// Optimizers are the optimisers an experiment can name; the first is the default.
var Optimizers = []Optimizer{
	{Name: "adam", Learnrate: map[string]float64{ParamPixels: 0.01, ParamFFT: 0.05}, Update: adam},
	{Name: "rmsprop", Learnrate: map[string]float64{ParamPixels: 0.01, ParamFFT: 0.02}, Update: rmsprop},
	{Name: "sgd", Learnrate: map[string]float64{ParamPixels: 0.02, ParamFFT: 0.05}, Update: normalizedSGD},
	// CLIPig's other names, at CLIPig's base rates for pixels: its adadelta, its spelling
	// rmsprob (CLIPig's is centred with momentum 0.1), and sparse_adam, which CLIPig runs as
	// RMSprop. The Fourier rates keep the ratios to adam.
	{Name: "adadelta", Learnrate: map[string]float64{ParamPixels: 20, ParamFFT: 100}, Update: adadelta},
	{Name: "rmsprob", Learnrate: map[string]float64{ParamPixels: 0.003, ParamFFT: 0.015}, Update: rmsprop},
	{Name: "sparse_adam", Learnrate: map[string]float64{ParamPixels: 0.01, ParamFFT: 0.02}, Update: rmsprop},
}

// OptimizerNames lists the optimisers' names.
func OptimizerNames() []string {
	return keys(Optimizers, func(k *Optimizer) string { return k.Name })
}

// LookupOptimizer returns an optimiser by name.
func LookupOptimizer(name string) (*Optimizer, bool) {
	return lookup(Optimizers, name, func(k *Optimizer) string { return k.Name })
}

func adam(params, grad, m, v, lr, count *Node) (newParams, newM, newV *Node) {
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	m = Add(MulScalar(m, beta1), MulScalar(grad, 1-beta1))
	v = Add(MulScalar(v, beta2), MulScalar(Square(grad), 1-beta2))
	g := params.Graph()
	correct1 := OneMinus(Pow(float32Scalar(g, beta1), count))
	correct2 := OneMinus(Pow(float32Scalar(g, beta2), count))
	step := Div(Div(m, correct1), AddScalar(Sqrt(Div(v, correct2)), eps))
	return Sub(params, Mul(lr, step)), m, v
}

func rmsprop(params, grad, m, v, lr, _ *Node) (newParams, newM, newV *Node) {
	v = Add(MulScalar(v, 0.99), MulScalar(Square(grad), 0.01))
	return Sub(params, Mul(lr, Div(grad, AddScalar(Sqrt(v), 1e-8)))), m, v
}

// normalizedSGD divides the gradient by its root mean square: plain SGD's step size would
// depend on the model's gradient scale, and this makes learnrate a step size in pixel units.
func normalizedSGD(params, grad, m, v, lr, _ *Node) (newParams, newM, newV *Node) {
	rms := Sqrt(AddScalar(ReduceAllMean(Square(grad)), 1e-20))
	return Sub(params, Mul(lr, Div(grad, rms))), m, v
}

// adadelta is torch's Adadelta (rho 0.9, eps 1e-6): v averages the squared gradients, m the
// squared updates.
func adadelta(params, grad, m, v, lr, _ *Node) (newParams, newM, newV *Node) {
	const rho, eps = 0.9, 1e-6
	v = Add(MulScalar(v, rho), MulScalar(Square(grad), 1-rho))
	delta := Mul(Div(Sqrt(AddScalar(m, eps)), Sqrt(AddScalar(v, eps))), grad)
	m = Add(MulScalar(m, rho), MulScalar(Square(delta), 1-rho))
	return Sub(params, Mul(lr, delta)), m, v
}
