//go:build race

package agents_test

// raceDetector is whether the tests run under -race, for the few that
// must step aside for a data race outside their own code.
const raceDetector = true
