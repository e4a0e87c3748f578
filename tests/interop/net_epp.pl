#!/usr/bin/perl
# Interoperability check: Perl's Net::EPP (CentralNic's client library, Debian
# libnet-epp-perl) logs in to an `eppd demo` with the demo registrar's certificate and runs
# check, create, info, update and delete on a domain, then logs out.
#
# Usage: perl tests/interop/net_epp.pl DIR/demo.json
# Exit status 0 when every step got the expected result code; each step prints one line.
use strict;
use warnings;
use JSON::PP;
use IO::Socket::SSL qw(SSL_VERIFY_PEER);
use Net::EPP::Client;
use Net::EPP::Frame;

my $file = shift @ARGV or die "usage: $0 DIR/demo.json\n";
open(my $fh, '<', $file) or die "cannot read $file: $!\n";
my $demo = decode_json(do { local $/; <$fh> });
close($fh);

my ($host, $port) = $demo->{address} =~ /^\[?([^\]]+)\]?:(\d+)$/
    or die "bad address in $file: $demo->{address}\n";

my $epp = Net::EPP::Client->new(host => $host, port => $port, ssl => 1, frames => 1);
my $greeting = $epp->connect(
    SSL_cert_file       => $demo->{cert},
    SSL_key_file        => $demo->{key},
    SSL_ca_file         => $demo->{ca},
    SSL_verify_mode     => SSL_VERIFY_PEER,
    SSL_verifycn_name   => 'localhost',
    SSL_verifycn_scheme => 'default',
    Timeout             => 10,
);
die "no greeting\n" unless $greeting && $greeting->getElementsByLocalName('greeting')->size;
print "greeting: ok\n";

my $failures = 0;
my $n = 0;

sub step {
    my ($what, $frame, @want) = @_;
    $n++;
    $frame->clTRID->appendText(sprintf('NETEPP-%03d', $n));
    my $answer = $epp->request($frame);
    my $result = $answer ? $answer->getElementsByLocalName('result')->shift : undef;
    my $code = $result ? $result->getAttribute('code') : 'none';
    my $ok = grep { $_ eq $code } @want;
    printf "%s: %s%s\n", $what, $code, $ok ? '' : ' (expected ' . join(' or ', @want) . ')';
    $failures++ unless $ok;
    return $answer;
}

my $login = Net::EPP::Frame::Command::Login->new;
$login->clID->appendText($demo->{cl_id});
$login->pw->appendText($demo->{password});
$login->version->appendText('1.0');
$login->lang->appendText('en');
for my $uri ('urn:ietf:params:xml:ns:domain-1.0', 'urn:ietf:params:xml:ns:contact-1.0',
             'urn:ietf:params:xml:ns:host-1.0') {
    my $el = $login->createElement('objURI');
    $el->appendText($uri);
    $login->svcs->appendChild($el);
}
step('login', $login, 1000) or die "login failed\n";
die "login refused\n" if $failures;

my $name = sprintf('net-epp-%d-%d.test', $$, time);

my $check = Net::EPP::Frame::Command::Check::Domain->new;
$check->addDomain($name);
my $answer = step('check', $check, 1000);
if ($answer) {
    my $cd = $answer->getElementsByLocalName('name')->shift;
    my $avail = $cd ? $cd->getAttribute('avail') : '';
    unless ($avail eq '1' || $avail eq 'true') {
        print "check: $name not available\n";
        $failures++;
    }
}

my $create = Net::EPP::Frame::Command::Create::Domain->new;
$create->setDomain($name);
$create->setPeriod(1);
$create->setRegistrant('demo-contact');
# Strong enough for the server's RFC 9154 strength policy (16+ characters, mixed classes,
# an estimated 128 bits).
$create->setAuthInfo('net-EPP-secret1-Zq8#Kx3Vm9!Tr2Lw4$');
step('create', $create, 1000);

my $info = Net::EPP::Frame::Command::Info::Domain->new;
$info->setDomain($name);
$answer = step('info', $info, 1000);
if ($answer) {
    my $reg = $answer->getElementsByLocalName('registrant')->shift;
    unless ($reg && $reg->textContent eq 'demo-contact') {
        print "info: registrant is not demo-contact\n";
        $failures++;
    }
}

my $update = Net::EPP::Frame::Command::Update::Domain->new;
$update->setDomain($name);
$update->addStatus('clientHold');
step('update', $update, 1000);

$info = Net::EPP::Frame::Command::Info::Domain->new;
$info->setDomain($name);
$answer = step('info after update', $info, 1000);
if ($answer) {
    my @s = map { $_->getAttribute('s') } $answer->getElementsByLocalName('status');
    unless (grep { $_ eq 'clientHold' } @s) {
        print "info after update: no clientHold status (@s)\n";
        $failures++;
    }
}

my $delete = Net::EPP::Frame::Command::Delete::Domain->new;
$delete->setDomain($name);
step('delete', $delete, 1000, 1001);

step('logout', Net::EPP::Frame::Command::Logout->new, 1500);
$epp->disconnect;

print $failures ? "FAILED: $failures step(s)\n" : "all steps passed\n";
exit($failures ? 1 : 0);
