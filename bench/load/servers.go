package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
)

// target is a server under load, running in processes of its own.
type target struct {
	name       string
	url, ca    string // HTTP targets: the base URL and the certificate that signs it
	token      string
	procs      func() []int // the processes whose CPU and memory are the server's
	startProf  func(path string) error
	stopProf   func()
	stop       func()
	skipReason string // set: the target could not run, and why
}

// proc is a child process: its stdout lines go to a channel (dropped
// when nobody reads), its stderr to a file (for sealstore, the JSON
// request log: a file costs this process nothing while it measures).
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	log   string
	done  chan struct{}
	group bool // signals go to its process group
	once  sync.Once
}

// startProc starts cmd with its stderr in the file log. With group, it
// leads a process group of its own (uvicorn and its workers), which stop
// ends as a whole.
func startProc(cmd *exec.Cmd, group bool, log string) (*proc, error) {
	p := &proc{cmd: cmd, lines: make(chan string, 64), log: log, done: make(chan struct{}), group: group}
	cmd.SysProcAttr = childAttr(group)
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child has its own descriptor
	cmd.Stderr = f
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.stdin = stdin
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stderr returns the end of the child's stderr.
func (p *proc) stderr() string {
	b, _ := os.ReadFile(p.log)
	return string(b[max(len(b)-4096, 0):])
}

// line waits for the first stdout line matching re and returns it.
func (p *proc) line(re *regexp.Regexp, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		select {
		case l := <-p.lines:
			if re.MatchString(l) {
				return l, nil
			}
		case <-p.done:
			return "", fmt.Errorf("%s exited (%v); its stderr ends:\n%s", p.cmd.Path, p.cmd.ProcessState, p.stderr())
		case <-deadline:
			return "", fmt.Errorf("%s printed no line matching %s within %s; its stderr ends:\n%s", p.cmd.Path, re, timeout, p.stderr())
		}
	}
}

// stop closes the child's stdin and sends it SIGTERM, and SIGKILL if it
// has not exited 20 s later; once, however often it is called.
func (p *proc) stop() { p.once.Do(p.end) }

func (p *proc) end() {
	p.stdin.Close()
	pid := p.cmd.Process.Pid
	if p.group {
		pid = -pid
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-p.done
	}
}

// buildSealstore builds ./cmd/sealstore into dir (run from the module root).
func buildSealstore(dir string) (string, error) {
	bin := filepath.Join(dir, "sealstore")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/sealstore").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/sealstore (run the harness from the repository root, or give -sealstore): %v\n%s", err, out)
	}
	return bin, nil
}

var (
	tokenLine  = regexp.MustCompile(`sst_[A-Za-z0-9_-]{43}`)
	listenLine = regexp.MustCompile(`^sealstore listening on (https://\S+)`)
)

// storeArgs are the sealstore flags that say where the data lives.
func storeArgs(dir string, b server.Backend) []string {
	args := []string{"--data-dir", dir}
	if b.Kind == server.KindDynamoDB {
		args = append(args, "--store", "dynamodb", "--region", b.Region, "--dynamodb-endpoint", b.DynamoDBEndpoint,
			"--kms-endpoint", b.KMSEndpoint, "--kms-key-id", b.KMSKeyID, "--table-prefix", b.TablePrefix)
	}
	return args
}

// startSealstore runs 'sealstore serve' (after 'sealstore init' on
// DynamoDB, which prints the bootstrap token) on dir; its JSON request
// log goes to the file dir.log.
func startSealstore(name, bin, dir string, b server.Backend) (*target, error) {
	var token string
	if b.Kind == server.KindDynamoDB {
		out, err := exec.Command(bin, append([]string{"init"}, storeArgs(dir, b)...)...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("sealstore init: %v\n%s", err, out)
		}
		token = tokenLine.FindString(string(out))
	}
	p, err := startProc(exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, storeArgs(dir, b)...)...), false, dir+".log")
	if err != nil {
		return nil, err
	}
	want := listenLine
	if token == "" {
		want = tokenLine // the bolt banner prints the token first, then the address
		l, err := p.line(want, time.Minute)
		if err != nil {
			p.stop()
			return nil, err
		}
		token, want = tokenLine.FindString(l), listenLine
	}
	l, err := p.line(want, time.Minute)
	if err != nil {
		p.stop()
		return nil, err
	}
	pid := p.cmd.Process.Pid
	return &target{name: name, url: listenLine.FindStringSubmatch(l)[1], ca: filepath.Join(dir, datadir.CertFile),
		token: token, procs: func() []int { return []int{pid} }, stop: p.stop}, nil
}

// startChild runs this program as '-child KIND' on dir: the ceiling, or
// sealstore's server.Run with a CPU profile that starts and stops on
// command (-cpuprofile). It prints "URL TOKEN" once serving.
func startChild(name, kind, dir string, size int, dynamo bool) (*target, error) {
	args := []string{"-child", kind, "-dir", dir, "-size", fmt.Sprint(size)}
	if dynamo {
		args = append(args, "-dynamodb")
	}
	p, err := startProc(exec.Command(os.Args[0], args...), false, dir+".log")
	if err != nil {
		return nil, err
	}
	l, err := p.line(regexp.MustCompile(`^https://\S+ \S+$`), time.Minute)
	if err != nil {
		p.stop()
		return nil, err
	}
	url, token, _ := strings.Cut(l, " ")
	pid := p.cmd.Process.Pid
	t := &target{name: name, url: url, ca: filepath.Join(dir, datadir.CertFile), token: token,
		procs: func() []int { return []int{pid} }, stop: p.stop}
	if kind == "sealstore" {
		t.startProf = func(path string) error {
			_, err := fmt.Fprintf(p.stdin, "profile %s\n", path)
			return err
		}
		t.stopProf = func() { _, _ = fmt.Fprintln(p.stdin, "stop") }
	}
	return t, nil
}
