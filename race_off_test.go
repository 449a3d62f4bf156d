//go:build !race

package agents_test

const raceDetector = false
