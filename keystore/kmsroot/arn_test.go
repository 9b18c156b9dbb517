package kmsroot_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sealstore/sealstore/keystore/kmsroot"
)

func TestNewRefusesAllButKeyARNs(t *testing.T) {
	t.Parallel()
	f := newFakeKMS()
	bad := map[string]string{
		"":                                     "no KMS key ARN",
		"alias/root":                           "alias name",
		"1234abcd-12ab-34cd-56ef-1234567890ab": "not an ARN",
		"key/1234abcd-12ab-34cd-56ef-1234567890ab":                                     "not an ARN",
		"mrk-1234abcd12ab34cd56ef1234567890ab":                                         "not an ARN",
		"arn:aws:kms:us-west-2:111122223333:alias/root":                                "alias ARN",
		"arn:aws:kms:us-west-2:111122223333:key/":                                      "does not name a key",
		"arn:aws:kms:us-west-2:111122223333:key":                                       "does not name a key",
		"arn:aws:kms:us-west-2:111122223333:key/a/b":                                   "does not name a key",
		"arn:aws:kms:us-west-2:111122223333:secret/x":                                  "does not name a key",
		"arn:aws:dynamodb:us-west-2:111122223333:key/x":                                "not a KMS key ARN",
		"arn:aws:kms:us-west-2:111122223333:key/x:extra":                               "not a KMS key ARN",
		"arn:aws:kms::111122223333:key/x":                                              "empty partition, region or account",
		"arn:aws:kms:us-west-2::key/x":                                                 "empty partition, region or account",
		"arn::kms:us-west-2:111122223333:key/x":                                        "empty partition, region or account",
		"arn:aws:kms:us-west-2:111122223333:key/x y":                                   "space, control or non-ASCII",
		"arn:aws:kms:us-west-2:111122223333:key/x\n":                                   "space, control or non-ASCII",
		"arn:aws:kms:us-west-2:111122223333:key/é":                                     "space, control or non-ASCII",
		"arn:aws:kms:us-west-2:111122223333:key/" + strings.Repeat("a", 2048):          "longer than 2048",
		" arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab": "not an ARN",
	}
	for arn, want := range bad {
		r, err := kmsroot.New(f, arn)
		if err == nil || r != nil {
			t.Errorf("New(%q) = %v, %v; want an error", arn, r, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New(%q): error %q does not say %q", arn, err, want)
		}
	}
	good := []string{
		"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
		"arn:aws:kms:eu-west-2:111122223333:key/bc436485-5092-42b8-92a3-0aa8b93536dc",
	}
	for _, arn := range good {
		r, err := kmsroot.New(f, arn)
		if err != nil {
			t.Errorf("New(%q): %v", arn, err)
			continue
		}
		if r.ID() != arn {
			t.Errorf("ID() = %q, want %q", r.ID(), arn)
		}
	}
	if _, err := kmsroot.New(nil, good[0]); err == nil {
		t.Error("New without a client succeeded")
	}
}

func TestNewClientEndpoint(t *testing.T) {
	t.Parallel()
	cfg := aws.Config{Region: "us-east-1"}
	if got := kmsroot.NewClient(cfg, "").Options().BaseEndpoint; got != nil {
		t.Errorf("no endpoint given: BaseEndpoint %q, want the SDK's default (nil)", *got)
	}
	const ep = "http://127.0.0.1:9981"
	o := kmsroot.NewClient(cfg, ep).Options()
	if o.BaseEndpoint == nil || *o.BaseEndpoint != ep {
		t.Errorf("BaseEndpoint %v, want %q", o.BaseEndpoint, ep)
	}
	if o.Region != "us-east-1" {
		t.Errorf("Region %q, want the config's", o.Region)
	}
}

func TestStringNamesTheARN(t *testing.T) {
	t.Parallel()
	_, r := newRoot(t)
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%v", r), r.String()} {
		if s != "kmsroot.Root("+r.ID()+")" {
			t.Errorf("printed as %q", s)
		}
	}
}
