package expfile

import (
	"strings"
	"testing"
	"time"
)

// TestExpressionStepLimit checks that an expression doing unbounded work is refused quickly,
// naming the expression, rather than hanging check and run.
func TestExpressionStepLimit(t *testing.T) {
	for _, source := range []string{
		"0.01 + 0*max(range(2000000000))",
		"0.01 + 0*len([x for x in range(999999) for y in range(999999)])",
	} {
		begin := time.Now()
		_, err := Parse("bad.yaml", []byte("learnrate: \""+source+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "limit") || !strings.Contains(err.Error(), "range(") {
			t.Errorf("%s: got %v, want an error naming the expression and the limit", source, err)
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Errorf("%s: took %v", source, d)
		}
	}
}
