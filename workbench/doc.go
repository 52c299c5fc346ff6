// Package workbench is clipwork's experiment engine: it optimises an image so that windows of
// it (the whole image, or random ones) match CLIP features, in CLIPig's vocabulary. Each concept lives in one place:
//
//	concept                    file            each kind is
//	experiment, Resolve        experiment.go   defaults and every check that needs no model
//	parameterisation           param.go        an entry of paramKinds (pixels, fft): render, encode,
//	                                           project
//	windows and the warp       window.go,      one homography per window, sampled in one
//	                           warp.go         differentiable op (shift, rotate, zoom, perspective)
//	transforms                 transform.go    an entry of TransformKinds: key, parameter, identity
//	                                           row, host-side draw, graph function
//	geometric transforms       geometry.go     an entry of GeometricKinds: key, parameters, pad, the
//	                                           map of the canvas, composed into the window's warp
//	constraints                constraint.go   an entry of ConstraintKinds: key, parameters, CLIPig's
//	                                           factor, penalty
//	post-processing            postproc.go     a pixel transform of TransformKinds on the image
//	targets and selection      target.go       features, Selections, Losses, the feature loss
//	optimisers                 optimizer.go    an entry of Optimizers: name, usual rate, update
//	schedules and time         schedule.go     Value (a number of time), Moment, Period
//	the step graph             step.go         typed inputs (stepInputs), one graph per plan
//	model ensembles            ensemble.go     ModelChoice, Member, one store for every model; the
//	                                           weighted losses in target.go (targetLoss)
//	the run loop               run.go, state.go, checkpoint.go, observer.go
//	statistics                 stats.go        frames, shares, similarities, history
//	image filters              filters.go      blur, grey, Sobel, total variation
//
// Adding a transform or constraint is one registry entry and its table test; the tests beside
// each registry reject an incomplete entry, and expfile's tests decode every entry.
//
// # Glossary
//
// Window: a part of the image, placed at random by its target's geometry (the homography of
// window.go) and resampled to the model's input; without geometry or a Window, the whole image
// squeezed to the input. Transform: a change of a
// window's pixels after sampling (noise, blur, colour). CLIPig's geometric transforms
// (random_shift, random_rotate, random_scale, center_crop, ...) set the window's geometry
// instead, so that every window is resampled once.
//
// Frames: the windows a feature won. A window wins every active feature it applies: all of them
// with select all or mix, the best or worst, whatever its weight's sign, with select best or
// worst, as CLIPig counts them. Anti-text applies to every window but wins none.
// Share: a feature's frames divided by its target's windows. Win rate: the share, in percent,
// as CLIPig's frame-count table prints it.
//
// Time: t = step / (steps - 1), 0 at the first step and 1 at the last (CLIPig's epoch / (epochs
// - 1)). A start or end given as a whole number is a step; as a fraction or percentage it is
// compared with t itself.
package workbench
