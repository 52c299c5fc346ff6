package workbench

// Observer watches a run: the CLI's progress bar, the notebook's live view and the results
// writer are observers of the same loop.
type Observer interface {
	Observe(Event)
}

// ObserverFunc makes a function an Observer.
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(e Event) { f(e) }

// EventKind tells what happened.
type EventKind int

// The events of a run.
const (
	EventStart EventKind = iota // before the first step of this call to Run
	EventStep                   // after each step
	EventEnd                    // after the last step
	EventStop                   // the run stopped early: cancelled or failed (Err says why)
)

// Event is one thing that happened in a run.
type Event struct {
	Kind EventKind
	Run  *Run
	// Result is the step's result (EventStep only).
	Result *StepResult
	// Err is why the run stopped (EventStop only).
	Err error
}
