package steploop

import (
	"fmt"
	"math"
)

// Decay is a learning rate schedule: Rate until the last Steps steps before End, over which it
// falls along a half cosine to a tenth of Rate. Constant-rate training plateaus with the noise
// of small batches; the decay settles the weights into what they averaged over. GoMLX's
// cosineschedule anneals in periods counted from step 0; Decay holds the rate until the last
// steps, so that a training resumed, or continued from an export, decays only at its end.
type Decay struct {
	Rate float64
	// End is the training's last step, counting those of earlier, resumed sessions.
	End int
	// Steps is how many steps the rate falls over (0: none).
	Steps int
}

// At is the learning rate of step.
func (d Decay) At(step int) float64 {
	start := d.End - d.Steps
	if step < start || d.Steps <= 0 {
		return d.Rate
	}
	floor := d.Rate / 10
	progress := min(float64(step-start)/float64(d.Steps), 1)
	return floor + (d.Rate-floor)*(1+math.Cos(math.Pi*progress))/2
}

// Note says from which step the rate decays, as " (decaying from step N)", or "" if it does
// not.
func (d Decay) Note() string {
	if d.Steps <= 0 {
		return ""
	}
	return fmt.Sprintf(" (decaying from step %d)", d.End-d.Steps)
}
