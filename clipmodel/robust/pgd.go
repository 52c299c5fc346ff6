// Package robust makes a CLIP's vision tower adversarially robust: FARE-style fine-tuning
// (Schlarmann et al. 2024, "Robust CLIP"), in which the tower learns to embed images perturbed
// by projected gradient descent (PGD) in an L-infinity ball where the frozen original tower
// embeds the clean images. Robust towers have perceptually aligned gradients: optimising an
// image against them paints shapes and colours instead of imperceptible noise.
package robust

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
)

// Attack is an L-infinity PGD attack on pixels in [0, 1].
type Attack struct {
	// Radius is the largest change of any pixel value (e.g. 4/255).
	Radius float64 `json:"radius"`
	// StepSize is how far each step moves a pixel value, along the sign of the gradient.
	StepSize float64 `json:"step_size"`
	// Steps is the number of gradient steps.
	Steps int `json:"steps"`
}

// PGD returns the images, within a.Radius of clean in every pixel value and in [0, 1], that
// a.Steps steps of signed gradient ascent on objective reach from clean+start (start nil:
// from clean). objective maps images [batch, h, w, 3] to a scalar to maximise. The result is
// a constant to gradients, as the attack's images are to FARE's outer step.
//
// The steps are unrolled in the graph rather than run as one graph call per step from the
// host: on the CPU a call costs a copy of the images and weights' bookkeeping each way, while
// the unrolled graph compiles once (seconds for a few steps) and lets the backend run the
// batch's independent ops side by side.
func PGD(clean, start *Node, a Attack, objective func(images *Node) *Node) *Node {
	delta := start
	if delta == nil {
		delta = ZerosLike(clean)
	}
	delta = ClipScalar(delta, -a.Radius, a.Radius)
	for range a.Steps {
		images := ClipScalar(Add(clean, delta), 0, 1)
		grad := Gradient(objective(images), delta)[0]
		delta = ClipScalar(Add(delta, MulScalar(Sign(grad), a.StepSize)), -a.Radius, a.Radius)
	}
	return StopGradient(ClipScalar(Add(clean, delta), 0, 1))
}

// SquaredDistance is the mean over the batch of the squared L2 distance between rows of a and
// b ([batch, dim]): FARE's loss between the tuned and the original embeddings.
func SquaredDistance(a, b *Node) *Node {
	return ReduceAllMean(ReduceSum(Square(Sub(a, b)), -1))
}
