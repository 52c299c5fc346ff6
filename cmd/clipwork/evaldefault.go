package main

import (
	"io"

	"github.com/clipwork/clipwork/clipmodel"
	"github.com/clipwork/clipwork/clipmodel/defaultmodel"
)

func runEvalDefault(args []string, stdout io.Writer) error {
	fs := newFlags("eval-default", stdout)
	modelName := fs.String("model", "default", "the model to evaluate (a folder in the default model's family)")
	n := fs.Int("scenes", 200, "number of held-out scenes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := clipmodel.Load(*modelName)
	if err != nil {
		return err
	}
	acc, err := defaultmodel.ZeroShot(m, *n, 1)
	if err != nil {
		return err
	}
	acc.Report(stdout)
	return nil
}
