terraform {
  # 1.11: write-only arguments (value_wo) and ephemeral input variables.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      # 6.0: the per-resource `region` argument used by the forwarding rules.
      source  = "hashicorp/aws"
      version = ">= 6.0"
    }
  }
}
