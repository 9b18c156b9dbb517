package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Kinds of load.
const (
	kindHTTP   = "http"     // the reference routes of an HTTPS server
	kindDynamo = "dynamodb" // GetItem / PutItem on the DynamoDB emulator, through the AWS SDK
)

// spec is one slice of load: what to send, where, for how long.
type spec struct {
	Kind string
	// Op is "read" (ids s-0 … s-IDs-1, uniformly), "write" (a new id
	// PREFIX-W-N per request) or "seed" (write s-0 … s-IDs-1 once each).
	Op, Prefix string
	IDs, Size  int
	Conns      int
	Duration   time.Duration
	URL, CA    string // HTTP
	Token      string `json:"-"` // HTTP; passed in LOAD_TOKEN
	// DynamoDB: the emulator and the table (partition key "id").
	Endpoint, Region, Table string
}

// generator runs one slice of load in a process of its own and reports
// what it measured, its own CPU time included.
type generator interface {
	run(spec) (sample, error)
	String() string
}

// goGen runs each slice in a child process of this program (-child
// loadgen): Go clients, net/http or the AWS SDK.
type goGen struct{}

func (goGen) String() string { return "Go load generator (child process)" }

// genResult is what the child prints.
type genResult struct {
	sample
	Hist [][2]int64 // microseconds, count
}

func (goGen) run(s spec) (sample, error) {
	b, _ := json.Marshal(s)
	cmd := exec.Command(os.Args[0], "-child", "loadgen", "-spec", string(b))
	cmd.Env = append(os.Environ(), "LOAD_TOKEN="+s.Token)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = childAttr(false)
	out, err := cmd.Output()
	if err != nil {
		return sample{}, fmt.Errorf("load generator: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var r genResult
	if err := json.Unmarshal(out, &r); err != nil {
		return sample{}, fmt.Errorf("load generator: %w", err)
	}
	r.sample.Hist = hist{}
	for _, vc := range r.Hist {
		r.sample.Hist[vc[0]] = vc[1]
	}
	r.sample.GenCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r.sample, nil
}

// outcome of one request.
type outcome int

const (
	answered2xx outcome = iota
	answeredOther
	unanswered
)

// errSeeded ends a seed: every id is written.
var errSeeded = errors.New("all ids written")

// op sends request i of worker w.
type op func(w, i int) (outcome, error)

// runLoadgen is the child: it runs s and prints a genResult.
func runLoadgen(specJSON string) error {
	var s spec
	if err := json.Unmarshal([]byte(specJSON), &s); err != nil {
		return err
	}
	s.Token = os.Getenv("LOAD_TOKEN")
	var o op
	var err error
	if s.Kind == kindDynamo {
		o = dynamoOp(s)
	} else if o, err = httpOp(s); err != nil {
		return err
	}
	res := drive(o, s)
	out := genResult{sample: res}
	for v, c := range res.Hist {
		out.Hist = append(out.Hist, [2]int64{v, c})
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// drive runs s.Conns workers of o, each sending one request at a time,
// for s.Duration (a seed: until every id is written).
func drive(o op, s spec) sample {
	var requests, non2xx, failed atomic.Int64
	lat := make([]hist, s.Conns)
	deadline := time.Now().Add(s.Duration)
	if s.Op == "seed" {
		deadline = time.Now().Add(time.Hour)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range s.Conns {
		lat[w] = hist{}
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				out, err := o(w, i)
				if errors.Is(err, errSeeded) {
					return
				}
				switch out {
				case unanswered:
					failed.Add(1)
					continue
				case answeredOther:
					non2xx.Add(1)
				}
				requests.Add(1)
				lat[w][time.Since(t0).Microseconds()]++
			}
		})
	}
	wg.Wait()
	res := sample{Requests: requests.Load(), Non2xx: non2xx.Load(), Failed: failed.Load(), Elapsed: time.Since(start), Hist: hist{}}
	for _, h := range lat {
		res.Hist.add(h)
	}
	return res
}

// ids hands out the id of each request: seeds in order, reads uniformly
// among the seeds, writes new.
func ids(s spec) func(w, i int) (string, error) {
	var next atomic.Int64
	return func(w, i int) (string, error) {
		switch s.Op {
		case "seed":
			n := next.Add(1) - 1
			if n >= int64(s.IDs) {
				return "", errSeeded
			}
			return fmt.Sprintf("s-%d", n), nil
		case "read":
			return fmt.Sprintf("s-%d", rand.IntN(s.IDs)), nil
		}
		return fmt.Sprintf("%s-%d-%d", s.Prefix, w, i), nil
	}
}

func httpOp(s spec) (op, error) {
	client, err := newClient(s.CA, s.Conns)
	if err != nil {
		return nil, err
	}
	id := ids(s)
	secret := strings.Repeat("s", s.Size)
	return func(w, i int) (outcome, error) {
		id, err := id(w, i)
		if err != nil {
			return unanswered, err
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/items/"+id, nil)
		if s.Op != "read" {
			body, _ := json.Marshal(map[string]string{"id": id, "secret": secret})
			req, _ = http.NewRequest(http.MethodPost, s.URL+"/items/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := client.Do(req)
		if err != nil {
			return unanswered, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return answeredOther, nil
		}
		return answered2xx, nil
	}, nil
}

func dynamoOp(s spec) op {
	creds := credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")
	c := dynamodb.NewFromConfig(aws.Config{Region: s.Region, Credentials: creds}, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
	})
	id := ids(s)
	value := bytes.Repeat([]byte("s"), s.Size)
	ctx := context.Background()
	return func(w, i int) (outcome, error) {
		id, err := id(w, i)
		if err != nil {
			return unanswered, err
		}
		key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
		if s.Op == "read" {
			out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true), Key: key})
			if err != nil {
				return unanswered, err
			}
			if out.Item == nil {
				return answeredOther, nil
			}
			return answered2xx, nil
		}
		key["v"] = &types.AttributeValueMemberB{Value: value}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: key}); err != nil {
			return unanswered, err
		}
		return answered2xx, nil
	}
}
