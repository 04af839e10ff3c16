// flows: TCP flows between ns-3 hosts for the closed-loop topologies (leafspine.cc, vpn.cc):
// each flow a socket of its own that sends its bytes and closes; every host listens on one port
// (ns-3's PacketSink); a flow is complete when its last byte reaches the receiving application,
// and its completion time (FCT) is that minus when it started.
#ifndef PRECRAFT_NS3_FLOWS_H
#define PRECRAFT_NS3_FLOWS_H

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "precraft-ns3.h"
#include "ns3/internet-module.h"

namespace precraft
{

struct Flow
{
    uint32_t id;
    Ptr<Node> src;
    Ipv4Address from, to;
    uint64_t bytes;
    int kind;                  // the topology's (leafspine: 0; vpn: 0 bulk, 1 request, 2 response)
    int64_t parent = -1;       // a response's request
    uint64_t start_ns = 0, done_ns = 0;
    uint64_t got = 0, left = 0;
    uint16_t sport = 0;
    Ptr<Socket> sock;
    bool done = false;
};

class FlowSet
{
  public:
    explicit FlowSet(uint16_t port) : m_port(port) {}
    // PacketSink on every host of 'hosts', listening on the port.
    void Listen(NodeContainer hosts);
    // A flow of 'bytes' from 'src' (address 'from') to 'to', starting at 'start'.
    uint32_t Add(Ptr<Node> src, Ipv4Address from, Ipv4Address to, uint64_t bytes, Time start, int kind);
    std::deque<Flow> flows;     // a deque: a flow added from a callback leaves the others where they are
    std::function<void(Flow&)> onDone;
    uint64_t Done() const { return m_done; }
    // Each flow's row (FlowMonitor-like: first_ns its start, last_ns its completion; a flow not
    // complete at the end has last_ns 0) into the run.
    void Record(const struct recorder* rec) const;

  private:
    void Start(uint32_t i);
    void Send(uint32_t i);
    void Rx(Ptr<const Packet> p, const Address& from);
    uint16_t m_port;
    std::map<uint64_t, uint32_t> m_byPeer; // (address, port) -> flow
    uint64_t m_done = 0;
};

// An address as text ("10.1.0.1").
std::string AddrText(Ipv4Address a);

// A host's one interface: on device 'd', address 'a' in 'mask', everything routed through it.
void HostInterface(Ptr<Node> n, Ptr<NetDevice> d, Ipv4Address a, Ipv4Mask mask);

// ns-3's TCP for the hosts: ns3.tcp's congestion control, 1448-byte segments, an initial window
// of 10, send and receive buffers of 'buf_bytes', SACK on or off; DCTCP's ECN; checksums on.
void TcpDefaults(const struct scenario* scn, uint32_t buf_bytes, bool sack);

// The flow sizes of the datacenter transport papers (pFabric, HPCC's traffic generator): the
// web-search (DCTCP) and data-mining (VL2) distributions, as CDFs in bytes.
Ptr<EmpiricalRandomVariable> FlowSizes(bool datamining, uint64_t* mean_bytes);

// Completion times by size bucket (small <= 100 KB < medium <= 10 MB < large) and all flows:
// scalars fct_mean_ns_B, fct_p99_ns_B, slowdown_p50_B, slowdown_p99_B, flows_B, flows_done_B,
// where a flow's slowdown is its FCT over 'ideal' (its FCT alone on an idle network).
void RecordFct(const struct recorder* rec, const std::vector<Flow>& flows, const std::function<double(const Flow&)>& ideal,
               int kind, const std::string& prefix, bool print);

} // namespace precraft

#endif
