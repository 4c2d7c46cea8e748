// Command kstatus prints what the kstatus library (sigs.k8s.io/cli-utils/pkg/kstatus, the library Flux's health
// checks and `kubectl wait`-style tools use) computes for each object of a Kubernetes List read on stdin
// (`kubectl get ... -o json`): one JSON line per object with its name, status and message.
//
// Built and cached by tools/kstatus/kstatus.ts from the Go module proxy; used by the tests that hold the
// operator's status to kstatus' contract.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: reading stdin:", err)
		os.Exit(2)
	}
	var list unstructured.UnstructuredList
	if err := list.UnmarshalJSON(data); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: stdin is not a Kubernetes List:", err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for i := range list.Items {
		u := &list.Items[i]
		res, err := status.Compute(u)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s/%s: %v\n", u.GetNamespace(), u.GetName(), err)
			os.Exit(1)
		}
		_ = out.Encode(result{u.GetNamespace(), u.GetName(), res.Status.String(), res.Message})
	}
}
