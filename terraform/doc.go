// Package terraform holds no Go code of its own: it is the Terraform that
// rolls statusedge out onto Kubernetes region by region (this directory's
// root module and modules/region; see README.md), and its test.
//
// In: the *.tf files, tests/*.tftest.hcl and modules/region/tests, Terraform
// on PATH and the provider mirror scripts/setup builds (setup.d/40-terraform.sh)
// into $STATUSEDGE_CACHE/terraform-mirror. Out: terraform_test.go runs
// `terraform fmt -check`, `init` against that mirror only (no registry),
// `validate` and `terraform test` with mock providers, and plans each bad
// variable to check it is refused with its message.
package terraform
