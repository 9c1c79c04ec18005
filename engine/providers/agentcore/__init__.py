"""AgentCore provider: Agents of `runtime: agentcore` environments as Bedrock AgentCore runtimes."""
