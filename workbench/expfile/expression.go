package expfile

import (
	"fmt"
	"math"

	"github.com/clipwork/clipwork/workbench"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// exprEnv is what an expression can use: the time t (0 at the first step, 1 at the last) and
// ti = 1 - t, the step (CLIPig's epoch), the image's resolution, the learning rate, and a few
// functions.
type exprEnv struct {
	T          float64 `expr:"t"`
	Ti         float64 `expr:"ti"`
	Epoch      int     `expr:"epoch"`
	Step       int     `expr:"step"`
	Steps      int     `expr:"steps"`
	Resolution float64 `expr:"resolution"`
	LR         float64 `expr:"lr"`

	Pow   func(x, y float64) float64      `expr:"pow"`
	Sqrt  func(x float64) float64         `expr:"sqrt"`
	Sin   func(x float64) float64         `expr:"sin"`
	Cos   func(x float64) float64         `expr:"cos"`
	Exp   func(x float64) float64         `expr:"exp"`
	Log   func(x float64) float64         `expr:"log"`
	Clamp func(x, lo, hi float64) float64 `expr:"clamp"`
	// TimeStep is 0 before t = a, 1 after t = b, and linear in between.
	TimeStep func(a, b float64) float64 `expr:"time_step"`
}

func newExprEnv(e workbench.Env) exprEnv {
	clamp := func(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }
	return exprEnv{
		T: e.T, Ti: 1 - e.T, Epoch: e.Step, Step: e.Step, Steps: e.Steps, Resolution: e.Resolution, LR: e.LR,
		Pow: math.Pow, Sqrt: math.Sqrt, Sin: math.Sin, Cos: math.Cos, Exp: math.Exp, Log: math.Log, Clamp: clamp,
		TimeStep: func(a, b float64) float64 {
			if b <= a {
				if e.T >= a {
					return 1
				}
				return 0
			}
			return clamp((e.T-a)/(b-a), 0, 1)
		},
	}
}

// compileExpression compiles a number-valued expression of time, e.g. "1 - .95 * pow(t, 5)".
func compileExpression(source string) (workbench.Value, error) {
	program, err := expr.Compile(source, expr.Env(exprEnv{}), expr.AsFloat64())
	if err != nil {
		return workbench.Value{}, fmt.Errorf("%q is not a number or a valid expression of t, ti, epoch, steps, "+
			"resolution, lr (functions: pow, sqrt, sin, cos, exp, log, clamp, time_step): %w", source, err)
	}
	return workbench.Func(source, func(e workbench.Env) float64 { return run(program, e) }), nil
}

func run(program *vm.Program, e workbench.Env) float64 {
	out, err := expr.Run(program, newExprEnv(e))
	if err != nil {
		return math.NaN() // reported as a non-finite loss term, naming the step
	}
	return out.(float64)
}
