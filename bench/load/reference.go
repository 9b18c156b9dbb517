package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
)

// referencePackages are the Debian packages the reference app runs from.
const referencePackages = "python3-fastapi python3-uvicorn python3-boto3 python3-cryptography"

// findPython returns the first python3 that imports the reference's
// modules (Debian's packages serve /usr/bin/python3, which a python3
// earlier on PATH, such as pyenv's, may not see), or why there is none.
func findPython() (string, string) {
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import fastapi, uvicorn, boto3, cryptography").Run() == nil {
			return py, ""
		}
	}
	return "", "python3 with FastAPI, uvicorn, boto3 and cryptography not found: apt-get install -y " + referencePackages
}

// startReference starts the reference FastAPI app (app: the path of
// seed_app.py) as its README says: uvicorn, 2 workers, TLS with a
// self-signed certificate made in dir, on the emulators of b, with table
// secure_items (made here). A target that cannot run comes back with
// skipReason set.
func startReference(app, dir string, b server.Backend, raw *dynamodb.Client) (*target, error) {
	if _, err := os.Stat(app); err != nil {
		return &target{name: "reference", skipReason: fmt.Sprintf("the reference app is not at %s (-reference): %v", app, err)}, nil
	}
	py, why := findPython()
	if py == "" {
		return &target{name: "reference", skipReason: why}, nil
	}
	if err := dynamo.New(raw, "").CreateTable(context.Background(), store.Table{Name: "secure_items", PartitionKey: "item_id"}); err != nil {
		return nil, fmt.Errorf("reference: table secure_items: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := datadir.EnsureCert(dir); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cert, key := filepath.Join(dir, datadir.CertFile), filepath.Join(dir, datadir.KeyFile)
	cmd := exec.Command(py, "-m", "uvicorn", "seed_app:app", "--app-dir", filepath.Dir(app),
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--ssl-certfile", cert, "--ssl-keyfile", key,
		"--workers", "2", "--no-access-log", "--log-level", "warning")
	cmd.Env = append(os.Environ(), "KMS_KEY_ID="+b.KMSKeyID, "KMS_ENDPOINT_URL="+b.KMSEndpoint,
		"DYNAMODB_ENDPOINT_URL="+b.DynamoDBEndpoint, "AWS_REGION="+b.Region)
	p, err := startProc(cmd, true, dir+".log")
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	if err := awaitHTTPS(url, cert, p); err != nil {
		p.stop()
		return nil, fmt.Errorf("reference: %w", err)
	}
	pid := p.cmd.Process.Pid
	return &target{name: "reference", url: url, ca: cert, procs: func() []int { return tree(pid) }, stop: p.stop}, nil
}

// awaitHTTPS waits until url answers anything over TLS (up to a minute),
// or p exits.
func awaitHTTPS(url, ca string, p *proc) error {
	client, err := newClient(ca, 1)
	if err != nil {
		return err
	}
	client.Timeout = 2 * time.Second
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("uvicorn exited (%v); its stderr ends:\n%s", p.cmd.ProcessState, p.stderr())
		default:
		}
		if resp, err := client.Get(url + "/items/-ready-"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("uvicorn not answering on %s after a minute; its stderr ends:\n%s", url, p.stderr())
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
