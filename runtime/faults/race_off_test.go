//go:build !race

package faults

// raceEnabled: the race detector multiplies the memory of each goroutine.
const raceEnabled = false
