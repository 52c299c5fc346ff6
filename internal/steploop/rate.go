package steploop

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// RateSetter is a Loop.SetRate for the learning rate that GoMLX's optimizers read from store,
// created at initial when store has none. A resumed training's checkpoint holds the rate it was
// started with; the loop's schedule replaces it before the first step.
func RateSetter(store *model.Store, initial float64) func(rate float64) error {
	v := optimizer.LearningRateVar(store.RootScope(), dtypes.Float32, initial)
	return func(rate float64) error { return v.SetValue(tensors.FromScalar(float32(rate))) }
}
