// precraft-ns3: the command line (ns-3's CommandLine), the run's session, the topology.
//
//   build/precraft-ns3 [--scenario=FILE] [--topology=path|leafspine|vpn] [--policy=off|static|adaptive]
//                      [--load=RHO] [--tcp=cubic|dctcp|newreno] [--run=N] [--db=FILE] [--flowmon=FILE]
//                      [--switches=precraft|ns3] [--set=SECTION.KEY=VALUE ...] [--tag=NAME=VALUE ...] [--quiet]
//
// The options above --set are the scenario's keys by other names (ns3.topology, policy.kind,
// ns3.load, ns3.tcp, run.run); --set takes any key, --tag records a run parameter (the sweep's).
// Exit: 0 done, 1 a runtime failure, 2 bad usage or input, as precraft's.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <dirent.h>
#include <unistd.h>
#include <vector>

#include "precraft-ns3.h"

using namespace ns3;

static int Usage(const char* what)
{
    fprintf(stderr, "precraft-ns3: %s (see --help)\n", what);
    return 2;
}

static void RemoveTree(const std::string& dir)
{
    // The folder holds only the files this run wrote (routes, the tunnel): each removed by name.
    if (DIR* d = opendir(dir.c_str()))
    {
        while (struct dirent* e = readdir(d))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlink((dir + "/" + e->d_name).c_str());
        closedir(d);
    }
    rmdir(dir.c_str());
}

int main(int argc, char** argv)
{
    // --set and --tag repeat, which ns-3's CommandLine does not take: taken out first.
    std::vector<std::string> sets, tags;
    std::vector<char*> rest = {argv[0]};
    std::string command = "precraft-ns3";
    for (int i = 1; i < argc; i++)
    {
        // The run's command is the line that reproduces it: where its results go (--db, --flowmon,
        // --quiet) and the sweep's tags are not part of it, as in a sweep of precraft sim's.
        if (strncmp(argv[i], "--db=", 5) && strncmp(argv[i], "--tag=", 6) && strncmp(argv[i], "--flowmon=", 10) &&
            strcmp(argv[i], "--quiet"))
            command += std::string(" ") + argv[i];
        if (!strncmp(argv[i], "--set=", 6))
            sets.push_back(argv[i] + 6);
        else if (!strncmp(argv[i], "--tag=", 6))
            tags.push_back(argv[i] + 6);
        else
            rest.push_back(argv[i]);
    }
    std::string scenario, topology, policy, tcp, db, flowmon = "auto", switches = "precraft";
    double load = -1;
    int64_t run = -1;
    bool quiet = false;
    CommandLine cmd(__FILE__);
    cmd.Usage("precraft's shaper as nodes of ns-3: a scenario's one path (cross-validation with precraft sim), a "
              "leaf-spine fabric of shaper switches, or two VPN gateways; results into a precraft database.\n"
              "  --set=SECTION.KEY=VALUE   any scenario key (repeatable); --tag=NAME=VALUE a run parameter (repeatable)");
    cmd.AddValue("scenario", "scenario file (default: the shipped default.ini for --topology=path, none otherwise)", scenario);
    cmd.AddValue("topology", "path | leafspine | vpn (ns3.topology)", topology);
    cmd.AddValue("policy", "off | static | adaptive (policy.kind)", policy);
    cmd.AddValue("load", "offered load, 0.01 to 0.95 (ns3.load)", load);
    cmd.AddValue("tcp", "cubic | dctcp | newreno (ns3.tcp)", tcp);
    cmd.AddValue("run", "run number: the replication (run.run; ns-3's RngRun)", run);
    cmd.AddValue("db", "results database (none without it)", db);
    cmd.AddValue("flowmon", "FlowMonitor XML file (leafspine, vpn; default DB-runID.flowmon.xml, 'none' for none)", flowmon);
    cmd.AddValue("switches", "leafspine: precraft (shaper nodes) or ns3 (ns-3's IPv4 routers, no precraft)", switches);
    cmd.AddValue("quiet", "print nothing but errors", quiet);
    cmd.Parse((int)rest.size(), rest.data());

    if (!topology.empty())
        sets.push_back("ns3.topology=" + topology);
    if (!policy.empty())
        sets.push_back("policy.kind=" + policy);
    if (load >= 0)
        sets.push_back("ns3.load=" + std::to_string(load));
    if (!tcp.empty())
        sets.push_back("ns3.tcp=" + tcp);
    if (run >= 0)
        sets.push_back("run.run=" + std::to_string(run));
    if (switches != "precraft" && switches != "ns3")
        return Usage("--switches: precraft or ns3");
    // The path topology runs a scenario: the shipped default one unless named.
    bool pathTopology = topology.empty() || topology == "path";
    char def[4096];
    if (scenario.empty() && pathTopology)
    {
        if (!host_find_data("default.ini", def, sizeof def))
            return Usage("no --scenario and the shipped default.ini was not found");
        scenario = def;
    }
    std::vector<const char*> cs;
    for (auto& s : sets)
        cs.push_back(s.c_str());
    struct scenario* scn = nullptr;
    int code = host_scenario(scenario.empty() ? nullptr : scenario.c_str(), cs.data(), (unsigned)cs.size(), &scn);
    if (code)
        return code;
    if (switches == "ns3" && scn->ns3.topology != 1)
        return free(scn), Usage("--switches=ns3 is for --topology=leafspine");
    RngSeedManager::SetSeed((uint32_t)(scn->seed % 0xfffffffeu) + 1);
    RngSeedManager::SetRun(scn->run);

    std::vector<std::pair<std::string, std::string>> kv;
    kv.push_back({"simulator", "ns-3 3.37 (precraft-ns3)"});
    kv.push_back({"ns3.switches", switches});
    for (auto& t : tags)
    {
        size_t eq = t.find('=');
        if (eq == std::string::npos || eq == 0)
            return free(scn), Usage(("--tag=" + t + ": expected NAME=VALUE").c_str());
        kv.push_back({t.substr(0, eq), t.substr(eq + 1)});
    }
    std::vector<const char*> flat(2 * kv.size() + 2);
    auto params = reinterpret_cast<const char* (*)[2]>(flat.data());
    for (size_t i = 0; i < kv.size(); i++)
        params[i][0] = kv[i].first.c_str(), params[i][1] = kv[i].second.c_str();
    struct host* h = nullptr;
    if ((code = host_begin(scn, db.empty() ? nullptr : db.c_str(), command.c_str(), params, (unsigned)kv.size(),
                           &h)) != 0)
        return free(scn), code;
    char tmpl[] = "/tmp/precraft-ns3.XXXXXX";
    if (!mkdtemp(tmpl))
    {
        perror("precraft-ns3: mkdtemp");
        free(scn);
        return host_end(h, "failed", 1);
    }
    precraft::Run r;
    r.h = h;
    r.scn = scn;
    r.workdir = tmpl;
    r.quiet = quiet;
    r.ns3Switches = switches == "ns3";
    // FlowMonitor's XML beside the database, named by the run; not for a sweep's runs (tagged),
    // whose shards are merged away, unless asked.
    if (flowmon == "auto")
        flowmon = db.empty() || scn->ns3.topology == 0 || !tags.empty()
                      ? ""
                      : db + "-run" + std::to_string(host_run_id(h)) + ".flowmon.xml";
    r.flowmon = flowmon == "none" ? "" : flowmon;
    switch (scn->ns3.topology)
    {
    case 0: code = precraft::RunPath(r); break;
    case 1: code = precraft::RunLeafSpine(r); break;
    default: code = precraft::RunVpn(r); break;
    }
    RemoveTree(tmpl);
    if (!quiet && !r.flowmon.empty() && !code)
        printf("flowmon   %s\n", r.flowmon.c_str());
    free(scn);
    return host_end(h, code ? "failed" : "complete", code);
}
