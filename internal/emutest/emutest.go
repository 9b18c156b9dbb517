// Package emutest hands integration tests the DynamoDB and KMS emulators
// (dynalite and local-kms) that ./scripts/test starts, through the
// SEALSTORE_TEST_* variables that scripts/emulators/start sets. It starts
// nothing itself.
//
// A test asks for the emulators it needs and gets their endpoints, keys and
// region. Where the variables are missing the test is skipped with a message
// that says how to run it, or, under SEALSTORE_REQUIRE_EMULATORS=1 (which
// ./scripts/test sets), fails, so that a broken setup cannot pass as a row
// of skipped tests.
package emutest

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The variables that scripts/emulators/start sets.
const (
	varDynamoDBEndpoint = "SEALSTORE_TEST_DYNAMODB_ENDPOINT"
	varKMSEndpoint      = "SEALSTORE_TEST_KMS_ENDPOINT"
	varKMSKeyARN        = "SEALSTORE_TEST_KMS_KEY_ARN"
	varKMSOtherKeyARN   = "SEALSTORE_TEST_KMS_OTHER_KEY_ARN"
	varRegion           = "SEALSTORE_TEST_REGION"
	varRequire          = "SEALSTORE_REQUIRE_EMULATORS"
)

// Env is where the emulators are. Only the fields for the emulators that
// were asked for are set.
type Env struct {
	DynamoDBEndpoint string // dynalite's URL, "http://127.0.0.1:PORT"
	KMSEndpoint      string // local-kms's URL, "http://127.0.0.1:PORT"
	KMSKeyARN        string // a symmetric key seeded into local-kms
	KMSOtherKeyARN   string // another one, for wrong-key tests
	Region           string
	Credentials
}

// Credentials are static AWS credentials for the emulators, which accept
// any.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// DynamoDB returns where dynalite is, or skips or fails t if it is not
// there.
func DynamoDB(t testing.TB) Env {
	t.Helper()
	return lookup(t, true, false)
}

// KMS returns where local-kms and its two test keys are, or skips or fails
// t if it is not there.
func KMS(t testing.TB) Env {
	t.Helper()
	return lookup(t, false, true)
}

// Both returns where dynalite and local-kms are, or skips or fails t if
// either is not there.
func Both(t testing.TB) Env {
	t.Helper()
	return lookup(t, true, true)
}

func lookup(t testing.TB, dynamodb, kms bool) Env {
	t.Helper()
	env := Env{Credentials: Credentials{AccessKeyID: "test", SecretAccessKey: "test"}}
	type variable struct {
		name  string
		value *string
	}
	vars := []variable{{varRegion, &env.Region}}
	if dynamodb {
		vars = append(vars, variable{varDynamoDBEndpoint, &env.DynamoDBEndpoint})
	}
	if kms {
		vars = append(vars, variable{varKMSEndpoint, &env.KMSEndpoint},
			variable{varKMSKeyARN, &env.KMSKeyARN}, variable{varKMSOtherKeyARN, &env.KMSOtherKeyARN})
	}
	var missing []string
	for _, v := range vars {
		*v.value = os.Getenv(v.name)
		if *v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		unavailable(t, missing)
	}
	return env
}

// unavailable skips t, or fails it under SEALSTORE_REQUIRE_EMULATORS=1.
func unavailable(t testing.TB, missing []string) {
	t.Helper()
	msg := fmt.Sprintf("needs the emulators, but %s unset: run ./scripts/test, which starts them and sets the SEALSTORE_TEST_* variables",
		strings.Join(missing, ", "))
	if os.Getenv(varRequire) == "1" {
		t.Fatal(msg + " (failing, not skipping, because " + varRequire + "=1)")
	}
	t.Skip(msg)
}

// Prefix returns a random table-name prefix, "t" then 8 hex digits then
// "_", so that tests sharing one dynalite do not see each other's tables
// (two tests get the same one by a one in four billion chance). It logs the
// prefix. Tables need no cleanup: dynalite keeps them in memory and forgets
// them when it stops.
func Prefix(t testing.TB) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:]) // never fails; see its doc
	p := "t" + hex.EncodeToString(b[:]) + "_"
	t.Logf("table prefix %s", p)
	return p
}

// ExamplesMain runs a test binary (call it from TestMain) whose examples
// reach DynamoDB and KMS as a program does: through the AWS SDK's default
// configuration. It points that configuration at the emulators
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS, AWS_REGION and static
// credentials) and sets KMS_KEY_ARN to the emulator's key. Without the
// emulators it skips the named examples (an Example cannot skip itself),
// printing why, or, under SEALSTORE_REQUIRE_EMULATORS=1, fails.
func ExamplesMain(m *testing.M, examples ...string) int {
	flag.Parse()
	vars := []string{varRegion, varDynamoDBEndpoint, varKMSEndpoint, varKMSKeyARN}
	var missing []string
	for _, v := range vars {
		if os.Getenv(v) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s need the emulators, but %s unset: run ./scripts/test, which starts them",
			strings.Join(examples, ", "), strings.Join(missing, ", "))
		if os.Getenv(varRequire) == "1" {
			fmt.Fprintln(os.Stderr, msg+" (failing, not skipping, because "+varRequire+"=1)")
			return 1
		}
		fmt.Println("skipping: " + msg)
		skip := "^(" + strings.Join(examples, "|") + ")$"
		if cur := flag.Lookup("test.skip").Value.String(); cur != "" {
			skip = cur + "|" + skip
		}
		if err := flag.Set("test.skip", skip); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": os.Getenv(varDynamoDBEndpoint), "AWS_ENDPOINT_URL_KMS": os.Getenv(varKMSEndpoint),
		"AWS_REGION": os.Getenv(varRegion), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "KMS_KEY_ARN": os.Getenv(varKMSKeyARN),
	} {
		os.Setenv(k, v)
	}
	return m.Run()
}
