package console

import "testing"

func TestTraceURL(t *testing.T) {
	tests := []struct{ base, id, want string }{
		{"http://127.0.0.1:9411", "4bf92f3577b34da6a3ce929d0e0e4736", "http://127.0.0.1:9411/zipkin/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"http://127.0.0.1:9411/", "4bf92f3577b34da6a3ce929d0e0e4736", "http://127.0.0.1:9411/zipkin/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"http://127.0.0.1:9411", "", ""},                                     // the order was not traced
		{"", "4bf92f3577b34da6a3ce929d0e0e4736", ""},                          // no trace backend
		{"http://z", "../../admin", "http://z/zipkin/traces/..%2F..%2Fadmin"}, // an id is one path segment
	}
	for _, tt := range tests {
		if got := traceURL(tt.base, tt.id); got != tt.want {
			t.Errorf("traceURL(%q, %q) = %q, want %q", tt.base, tt.id, got, tt.want)
		}
	}
}
