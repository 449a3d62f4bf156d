package agentsredis_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/agentsapi/agents-go/internal/measure"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

// realRedis is a redis-server of the machine's, on a free loopback port,
// with nothing saved to disk.
type realRedis struct {
	t    *testing.T
	bin  string
	port int
	cmd  *exec.Cmd
}

// startRedis starts redis-server, or skips the test when the binary is
// absent outside CI (CI installs it: see .ci/run).
func startRedis(t *testing.T) *realRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server not found, and CI is set: .ci/run should have installed it")
		}
		t.Skip("redis-server not found: install it (Debian: apt-get install redis-server) to run the integration tests")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &realRedis{t: t, bin: bin, port: l.Addr().(*net.TCPAddr).Port}
	l.Close()
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *realRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *realRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", r.addr())
		if err != nil {
			continue
		}
		c.Write([]byte("PING\r\n"))
		buf := make([]byte, 16)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := c.Read(buf)
		c.Close()
		if strings.HasPrefix(string(buf[:n]), "+PONG") {
			return
		}
	}
	r.t.Fatalf("redis-server did not answer on %s", r.addr())
}

func (r *realRedis) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

// Against a real redis-server: a fleet of four shares a known limit, and
// when Redis is killed mid-run and started again, no call fails, each
// process logs the outage once and the recovery, and the fleet paces
// through Redis again afterwards.
func TestRealRedisFleetSurvivesOutage(t *testing.T) {
	r := startRedis(t)
	srv := newServer(t, func(_ int64, w http.ResponseWriter) { ok(w) })
	ctx, cancel := context.WithCancel(context.Background())
	var procs []*process
	type result struct {
		n    int64
		errs []error
	}
	results := make(chan result, 4)
	for range 4 {
		p := newProcess(t, r.addr(), srv.URL, srv.Client(), agentsredis.Options{Limit: 40})
		procs = append(procs, p)
		go func() {
			n, errs := p.run(ctx, 4)
			results <- result{n, errs}
		}()
	}
	time.Sleep(time.Second)
	before := len(srv.arrivals())
	r.kill()
	time.Sleep(1500 * time.Millisecond)
	r.start()
	time.Sleep(2 * time.Second) // a second to notice, then pacing through Redis again
	mark := time.Now()
	time.Sleep(time.Second)
	cancel()
	var total int64
	for range 4 {
		res := <-results
		total += res.n
		for _, err := range res.errs {
			t.Errorf("call failed: %v", err)
		}
	}
	ts := srv.arrivals()
	if before < 20 {
		t.Errorf("only %d calls in the first second at 40/s", before)
	}
	// Pacing locally at each process's last share, the fleet keeps near
	// the limit through the outage too, instead of flooding the server;
	// only while the processes come back one by one, within a quarter of
	// a second, may those back on Redis and those still local overlap.
	if most := measure.Busiest(ts, time.Second); most > 52 {
		t.Errorf("%d requests arrived within one second of the run; the fleet's limit is 40/s", most)
	}
	var after []time.Time
	for _, at := range ts {
		if at.After(mark) {
			after = append(after, at)
		}
	}
	if most := measure.Busiest(after, time.Second); most > 42 { // 40/s, burst 2
		t.Errorf("after Redis came back, %d requests arrived within one second; the fleet's limit is 40/s", most)
	}
	for i, p := range procs {
		log := p.log.String()
		if got := strings.Count(log, "Redis unreachable"); got != 1 {
			t.Errorf("process %d logged the outage %d times, want once:\n%s", i, got, log)
		}
		if !strings.Contains(log, "Redis reachable again") {
			t.Errorf("process %d did not log the recovery:\n%s", i, log)
		}
	}
	t.Logf("arrivals a quarter of a second at a time: %s", histogram(ts))
	t.Logf("%d calls in 5.5 s at a 40/s limit, Redis down for 1.5 s of it", total)
}
