package sink

import (
	"strings"
	"testing"
	"time"
)

func TestSyslogConfigValidate(t *testing.T) {
	t.Parallel()
	good := []SyslogConfig{
		{Address: "unix:///dev/log"},
		{Address: "unixgram:///run/log.sock", Facility: 23, Hostname: "h", Timeout: time.Second},
		{Address: "unixgram://relative/log"},
		{Address: "tcp://127.0.0.1:514", Facility: 1},
		{Address: "tcp://[::1]:6514"},
		{Address: "tcp://logs.example:514", Hostname: strings.Repeat("h", 255)},
	}
	for _, cfg := range good {
		if err := cfg.Validate(); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	bad := map[string]SyslogConfig{
		"no address":       {},
		"udp":              {Address: "udp://127.0.0.1:514"},
		"tls":              {Address: "tls://127.0.0.1:6514"},
		"no scheme":        {Address: "/dev/log"},
		"no path":          {Address: "unix://"},
		"no port":          {Address: "tcp://127.0.0.1"},
		"empty port":       {Address: "tcp://127.0.0.1:"},
		"facility 24":      {Address: "unix:///dev/log", Facility: 24},
		"facility -1":      {Address: "unix:///dev/log", Facility: -1},
		"hostname space":   {Address: "unix:///dev/log", Hostname: "a b"},
		"hostname UTF-8":   {Address: "unix:///dev/log", Hostname: "hé"},
		"hostname 256":     {Address: "unix:///dev/log", Hostname: strings.Repeat("h", 256)},
		"negative timeout": {Address: "unix:///dev/log", Timeout: -time.Second},
	}
	for name, cfg := range bad {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: %+v accepted", name, cfg)
		}
		if _, err := DialSyslog(cfg); err == nil {
			t.Errorf("%s: DialSyslog accepted %+v", name, cfg)
		}
	}
}
