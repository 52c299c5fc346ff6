package steploop

import (
	"fmt"
	"math"
)

// Rate is the learning rate of step: LearningRate until the last DecaySteps steps before
// Steps, over which it falls along a half cosine to a tenth of it. Constant-rate training
// plateaus with the noise of small batches; the decay settles the weights into what they
// averaged over. GoMLX's cosineschedule anneals in periods counted from step 0; Rate holds
// until the last steps, so that a training resumed, or continued from an export, decays only
// at its end.
func (l Loop) Rate(step int) float64 {
	start := l.Steps - l.DecaySteps
	if step < start || l.DecaySteps <= 0 {
		return l.LearningRate
	}
	floor := l.LearningRate / 10
	progress := min(float64(step-start)/float64(l.DecaySteps), 1)
	return floor + (l.LearningRate-floor)*(1+math.Cos(math.Pi*progress))/2
}

// DecayNote says from which step the rate decays, as " (decaying from step N)", or "" if it
// does not.
func (l Loop) DecayNote() string {
	if l.DecaySteps <= 0 {
		return ""
	}
	return fmt.Sprintf(" (decaying from step %d)", l.Steps-l.DecaySteps)
}
