package main

import (
	"runtime"
	"time"
)

// runtimeGosched waits a little between polls of the fake's request log.
func runtimeGosched() {
	runtime.Gosched()
	time.Sleep(time.Millisecond)
}
