terraform {
  # terraform test with mock providers (1.7), override_during (1.9),
  # cross-variable validation (1.9).
  required_version = ">= 1.9"
  required_providers {
    # 1.x schemas: see ../../README.md, "Provider versions".
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "1.13.4"
    }
  }
}
