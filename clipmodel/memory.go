package clipmodel

// ActivationBytes estimates the memory one image's pass through the vision tower holds at its
// peak when the pass is differentiated to the pixels: the forward activations kept for the
// backward pass and the backward pass's own, at float32. It is an estimate for refusing runs
// that cannot fit (checked against clipwork bench's peak memory), not an exact count.
func (v VisionConfig) ActivationBytes() int64 {
	const float32Bytes, forwardAndBackward = 4, 2
	if v.IsResNet() {
		return v.resnetActivations() * float32Bytes * forwardAndBackward
	}
	return v.vitActivations() * float32Bytes * forwardAndBackward
}

// vitActivations counts the values a ViT keeps per image: per layer the normalised inputs, q,
// k, v, the attention output and residuals (about 8 widths a token), the MLP's hidden values,
// sigmoid and product (3 MLP widths), and the attention scores and probabilities of every head.
func (v VisionConfig) vitActivations() int64 {
	tokens := int64(v.NumPatches() + 1)
	width, mlp, heads := int64(v.HiddenSize), int64(v.IntermediateSize), int64(v.NumAttentionHeads)
	perLayer := tokens*(8*width+3*mlp) + 2*heads*tokens*tokens
	pixels := int64(v.ImageSize) * int64(v.ImageSize) * 3
	return int64(v.NumHiddenLayers)*perLayer + 4*pixels
}

// resnetActivations counts the values a ResNet keeps per image: each convolution's shifted
// views (k*k times its input, see conv) and output, batch norm and ReLU outputs, at every
// stage's resolution.
func (v VisionConfig) resnetActivations() int64 {
	side := int64(v.ImageSize / 2)
	stem := int64(v.HiddenSize)
	total := side * side * (9*3 + 3*stem/2 + 9*stem/2 + 3*stem/2 + 9*stem/2 + 3*stem)
	side /= 2 // the stem's average pool
	for _, b := range v.resnetBlocks() {
		if b.stride > 1 {
			side /= int64(b.stride)
		}
		in, planes := int64(b.inplanes), int64(b.planes)
		block := in + 3*planes + 9*planes + 3*planes + 3*4*planes + 4*planes
		if b.hasDownsampleBranches {
			block += 2 * 4 * planes
		}
		total += side * side * block
	}
	return total
}
