//go:build faults

package faults

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// window is a time range in which nginx, too, fails requests (a single
// backend is down).
type window struct{ from, to time.Time }

// scenario is one fault under load.
type scenario struct {
	name string
	// backends configures the backends before the proxy starts.
	backends func(t *testing.T) []*backend
	// drive injects the faults while the load runs; it returns when the
	// load should stop, with the windows in which requests may fail.
	drive func(t *testing.T, s *instance, bs []*backend) []window
	// postMayFail: a POST may get 502 (a backend died or closed the
	// connection after it was sent; nginx does not retry it).
	postMayFail bool
	// closeAnywhere: the server may close fresh connections too (shutdown).
	closeAnywhere bool
}

type totals struct {
	scenarios, sent, answered, duplicated, lost int
}

func TestFaultsUnderLoad(t *testing.T) {
	two := func(t *testing.T) []*backend { return mkBackends(t, 2, nil) }
	scenarios := []scenario{
		{
			name:     "backend killed and restarted (another backend alive)",
			backends: two,
			drive: func(t *testing.T, s *instance, bs []*backend) []window {
				for range 6 {
					time.Sleep(350 * time.Millisecond)
					bs[0].kill()
					time.Sleep(150 * time.Millisecond)
					if err := bs[0].restart(); err != nil {
						t.Error(err)
					}
				}
				return nil
			},
			postMayFail: true,
		},
		{
			name:     "single backend killed and restarted",
			backends: func(t *testing.T) []*backend { return mkBackends(t, 1, nil) },
			drive: func(t *testing.T, s *instance, bs []*backend) []window {
				var ws []window
				for range 3 {
					time.Sleep(700 * time.Millisecond)
					w := window{from: time.Now()}
					bs[0].kill()
					time.Sleep(200 * time.Millisecond)
					if err := bs[0].restart(); err != nil {
						t.Error(err)
					}
					w.to = time.Now()
					ws = append(ws, w)
				}
				time.Sleep(500 * time.Millisecond)
				return ws
			},
			postMayFail: true,
		},
		{
			name: "backend closing idle sockets at random",
			backends: func(t *testing.T) []*backend {
				return mkBackends(t, 1, func(b *backend) { b.idleCloseProb, b.idleCloseMax = 0.3, 3*time.Millisecond })
			},
			drive:       sleepFor(3 * time.Second),
			postMayFail: true,
		},
		{
			name: "backends answering slowly",
			backends: func(t *testing.T) []*backend {
				return mkBackends(t, 2, func(b *backend) { b.slowMax = 150 * time.Millisecond })
			},
			drive: sleepFor(3 * time.Second),
		},
		{
			name:     "reload every second",
			backends: two,
			drive: func(t *testing.T, s *instance, bs []*backend) []window {
				for range 4 {
					time.Sleep(time.Second)
					s.reload(t)
				}
				time.Sleep(300 * time.Millisecond)
				return nil
			},
		},
		{
			name:     "graceful shutdown mid-load",
			backends: two,
			drive: func(t *testing.T, s *instance, bs []*backend) []window {
				time.Sleep(1500 * time.Millisecond)
				s.stop(t)
				time.Sleep(200 * time.Millisecond)
				return nil
			},
			closeAnywhere: true,
		},
	}
	var tot totals
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			fds := fdCount()
			runScenario(t, sc, &tot)
			waitFDs(t, fds)
		})
	}
	fmt.Printf("faults: %d scenarios, requests sent %d, answered %d, duplicated %d, lost %d\n",
		tot.scenarios, tot.sent, tot.answered, tot.duplicated, tot.lost)
	if tot.answered != tot.sent || tot.duplicated != 0 || tot.lost != 0 {
		t.Errorf("sent %d, answered %d, duplicated %d, lost %d", tot.sent, tot.answered, tot.duplicated, tot.lost)
	}
}

func sleepFor(d time.Duration) func(*testing.T, *instance, []*backend) []window {
	return func(*testing.T, *instance, []*backend) []window {
		time.Sleep(d)
		return nil
	}
}

func mkBackends(t *testing.T, n int, set func(*backend)) []*backend {
	var bs []*backend
	for i := range n {
		b, err := newBackend(fmt.Sprintf("b%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if set != nil {
			set(b)
		}
		bs = append(bs, b)
	}
	return bs
}

func runScenario(t *testing.T, sc scenario, tot *totals) {
	bs := sc.backends(t)
	s := startInstance(t, proxyHCL(bs...))
	stop := make(chan struct{})
	var outcomes []outcome
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		outcomes = load(s.addr, 16, 4, stop)
	}()
	windows := sc.drive(t, s, bs)
	close(stop)
	wg.Wait()
	s.stop(t)
	for _, b := range bs {
		b.close()
	}

	var sent, answered, lost, ok, closes, post502, allowed502 int
	var failed []outcome
	for _, o := range outcomes {
		sent++
		switch {
		case o.lost:
			lost++
			failed = append(failed, o)
			continue
		case o.closed:
			answered++
			closes++
			if !o.reused && !sc.closeAnywhere {
				failed = append(failed, o) // a fresh connection closed unanswered
			}
			continue
		}
		answered++
		switch {
		case o.status == 200:
			ok++
		case o.method == "POST" && o.status == 502 && sc.postMayFail:
			post502++
		case o.status == 502 && inWindows(o, windows):
			allowed502++
		default:
			failed = append(failed, o)
		}
	}
	var dups []string
	for _, b := range bs {
		dups = append(dups, b.duplicates()...)
	}
	tot.scenarios++
	tot.sent += sent
	tot.answered += answered
	tot.lost += lost
	tot.duplicated += len(dups)
	t.Logf("sent %d: 200 %d, closed %d (keep-alive race), POST 502 %d, 502 while the only backend was down %d, failed %d, lost %d, duplicated %d",
		sent, ok, closes, post502, allowed502, len(failed), lost, len(dups))
	if sent < 100 {
		t.Errorf("only %d requests sent", sent)
	}
	for i, o := range failed {
		if i == 5 {
			t.Errorf("... %d failed in all", len(failed))
			break
		}
		t.Errorf("failed: %s %s status %d closed %v reused %v lost %v after %v", o.method, o.id, o.status, o.closed, o.reused, o.lost, o.end.Sub(o.start))
	}
	if len(dups) > 0 {
		t.Errorf("non-idempotent requests received twice: %v", dups)
	}
}

// inWindows reports whether o overlapped a window (with 100ms slack for
// the connections the proxy had already opened before the restart).
func inWindows(o outcome, ws []window) bool {
	for _, w := range ws {
		if o.end.After(w.from.Add(-100*time.Millisecond)) && o.start.Before(w.to.Add(100*time.Millisecond)) {
			return true
		}
	}
	return false
}
