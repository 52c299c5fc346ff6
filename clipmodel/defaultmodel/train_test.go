package defaultmodel

import (
	"testing"

	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// BenchmarkTrainStep times one contrastive training step of the default architecture.
//
//	GOEXPERIMENT=simd go test ./clipmodel/defaultmodel -run '^$' -bench TrainStep -benchtime 3x
func BenchmarkTrainStep(b *testing.B) {
	opts := TrainOptions{Out: b.TempDir()}
	opts.defaults()
	tok, err := trainingTokenizer(opts.Out, 1)
	if err != nil {
		b.Fatal(err)
	}
	m, _, err := trainingModel(opts, tok)
	if err != nil {
		b.Fatal(err)
	}
	trainer := train.NewTrainer(m.Backend, m.Store, contrastiveModel(m), contrastiveLoss,
		optimizer.Adam().Done(), nil, nil)
	batch := makeBatch(tok, 1, 0, 64)
	if _, err := trainer.TrainStep(batch); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := trainer.TrainStep(makeBatch(tok, 1, i+1, 64)); err != nil {
			b.Fatal(err)
		}
	}
}
